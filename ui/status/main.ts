/** Entry of the status page bundle (ui/status/index.html loads it; Vite builds it into ui/dist/status/). */
import "./status-page.ts";
