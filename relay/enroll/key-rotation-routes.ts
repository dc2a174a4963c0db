/** The appliance's route for its own key rotations (key-rotation.ts); only the appliance itself may call it. */
import { z } from "zod";
import { APPLIANCE_KEY_KINDS } from "../../protocol/key-rotation.ts";
import { parseJsonBody } from "../http/body.ts";
import type { RouteSpec } from "../http/types.ts";
import { acceptKeyRotation } from "./key-rotation.ts";

/** A rotation statement is a small envelope (a few hundred bytes). */
export const MAX_ROTATION_BODY_BYTES = 4 * 1024;

export const KEY_ROTATION_ROUTES: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/api/sync/rotate-key",
    callers: ["appliance"],
    summary: "an appliance key rotation (on a rotate_keys order), signed by the appliance's identity key on record; answers when the new key is used",
    maxBodyBytes: MAX_ROTATION_BODY_BYTES,
    response: z.object({ key: z.enum(APPLIANCE_KEY_KINDS), old_key_id: z.string(), new_key_id: z.string(), state: z.enum(["accepted", "in_force"]) }),
    handler: async (c, deps) => c.json(await acceptKeyRotation(deps, c.var.appliance, parseJsonBody(c.var.body))),
  },
];
