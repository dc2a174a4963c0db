/**
 * Test helper (not shipped behaviour): a STAND-IN for a hosted LLM. A real HTTP server on loopback that
 * speaks the OpenAI chat-completions protocol and answers each request with a scripted reply, recording what
 * it was sent (headers, body) so tests can assert on the exact prompt. A hosted model cannot run here; this
 * is the only part of the L2 tests that is not the real thing.
 */
import { createServer, type IncomingMessage } from "node:http";

export interface StandinRequest {
  headers: IncomingMessage["headers"];
  body: { model?: string; messages?: { role: string; content: string }[]; response_format?: unknown; temperature?: number };
  raw: string;
}

export interface Scripted {
  /** The assistant message content (wrapped in a chat-completion envelope). */
  content?: string;
  /** Send this body as is instead of an envelope. */
  raw?: string;
  status?: number;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
}

export interface Standin {
  url: string;
  requests: StandinRequest[];
  close(): Promise<void>;
}

/** Starts the stand-in; `script` gets each request (and its index) and says what to answer. */
export async function startChatStandin(script: (req: StandinRequest, index: number) => Scripted): Promise<Standin> {
  const requests: StandinRequest[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (raw += d));
    req.on("end", () => {
      let body: StandinRequest["body"] = {};
      try {
        body = JSON.parse(raw) as StandinRequest["body"];
      } catch {
        /* recorded as is */
      }
      const r: StandinRequest = { headers: req.headers, body, raw };
      requests.push(r);
      const s = script(r, requests.length - 1);
      const answer = () => {
        if (res.destroyed) return;
        const text =
          s.raw ??
          JSON.stringify({
            id: `chatcmpl-standin-${requests.length}`,
            object: "chat.completion",
            model: body.model ?? "standin",
            choices: [{ index: 0, message: { role: "assistant", content: s.content ?? "" }, finish_reason: "stop" }],
          });
        res.writeHead(s.status ?? 200, { "content-type": "application/json" });
        res.end(text);
      };
      if (s.delayMs) {
        const t = setTimeout(() => (timers.delete(t), answer()), s.delayMs);
        timers.add(t);
      } else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    requests,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
