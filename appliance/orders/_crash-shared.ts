/** Constants shared by the order crash test and its child process. */
import { sha256 } from "../../protocol/hash.ts";

export const SITE = "site_0123456789ab";
export const APP = "app_0123456789ab";
/** Seed of the test relay key both sides derive. */
export const RELAY_SEED = sha256("order crash test relay");
