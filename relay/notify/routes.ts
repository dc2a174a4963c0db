/**
 * Routes of relay/notify/ (registered through escalations/routes.ts): notification channels and their
 * delivery log. MSP admins manage their MSP's channels; partner admins their partner's and its sites'.
 * Secrets are write-only: no answer ever contains one.
 */
import { z } from "zod";
import type { RelayDeps } from "../deps.ts";
import { parseJsonBody } from "../http/body.ts";
import type { RelayContext, Role, RouteSpec } from "../http/types.ts";
import { channelViewSchema, createChannel, deleteChannel, listChannels, newChannelSchema } from "./channels.ts";
import { listDeliveries } from "./deliver.ts";

/** Who may manage channels. */
export const CHANNEL_ADMINS: readonly Role[] = ["msp_admin", "partner_admin"];
const SMALL_BODY = 16 * 1024;
const EMPTY_BODY = 1024;

const json = (c: RelayContext, value: unknown, status: 200 | 201 = 200) => c.json(value as object, status);

export const NOTIFY_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/api/channels",
    callers: CHANNEL_ADMINS,
    summary: "notification channels the caller manages (never their secrets)",
    maxBodyBytes: EMPTY_BODY,
    response: z.object({ channels: z.array(channelViewSchema) }),
    handler: async (c, deps: RelayDeps) => json(c, { channels: await listChannels(deps.db, c.var.principal) }),
  },
  {
    method: "POST",
    path: "/api/channels",
    status: 201,
    callers: CHANNEL_ADMINS,
    summary: "add an e-mail, webhook, Slack or syslog channel for the MSP, a partner or a site (secrets are write-only)",
    maxBodyBytes: SMALL_BODY,
    request: newChannelSchema,
    response: channelViewSchema,
    handler: async (c, deps) => json(c, await createChannel(deps.db, deps, c.var.principal, parseJsonBody(c.var.body)), 201),
  },
  {
    method: "DELETE",
    path: "/api/channels/:channel_id",
    status: 204,
    callers: CHANNEL_ADMINS,
    summary: "delete a channel (its delivery log is kept; pending deliveries are cancelled)",
    maxBodyBytes: EMPTY_BODY,
    handler: async (c, deps) => {
      await deleteChannel(deps.db, deps, c.var.principal, c.req.param("channel_id") ?? "");
      return c.body(null, 204);
    },
  },
  {
    method: "GET",
    path: "/api/channels/:channel_id/deliveries",
    callers: CHANNEL_ADMINS,
    summary: "the channel's delivery log, newest first: status, attempts, last error",
    maxBodyBytes: EMPTY_BODY,
    handler: async (c, deps) => json(c, { deliveries: await listDeliveries(deps.db, c.req.param("channel_id") ?? "") }),
  },
];
