/** Entry of the dashboard bundle (ui/dashboard/index.html loads it; Vite builds it into ui/dist/dashboard/). */
import "./app.ts";
