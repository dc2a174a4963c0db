/**
 * Request bodies, read once and bounded: the declared Content-Length is checked before reading, and the stream
 * is cut off as soon as it passes the limit (a chunked body has no length to check first). The bytes are kept
 * because the appliance signature covers exactly them.
 */
import { fromUtf8 } from "../../protocol/encoding.ts";
import { RelayError } from "../errors.ts";

export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    throw new RelayError("too_large", `Request body is ${declared} bytes: the limit for ${new URL(request.url).pathname} is ${maxBytes}`, { bytes: Number(declared), limit: maxBytes });
  }
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new RelayError("too_large", `Request body exceeds the limit of ${maxBytes} bytes for ${new URL(request.url).pathname}`, { limit: maxBytes });
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Parses a JSON body; RelayError `invalid_json` when it is not UTF-8 JSON. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw new RelayError("invalid_json", "Request body is empty: expected a JSON object");
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    throw new RelayError("invalid_json", "Request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new RelayError("invalid_json", `Cannot parse the request body as JSON: ${(e as Error).message}`);
  }
}
