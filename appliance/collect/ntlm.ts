/**
 * NTLM for WinRM over HTTP(S), on top of `@node-ntlm/core` (message encoding and the NTLMv2 response:
 * MD4 via js-md4 and DES via des.js, because Node's OpenSSL 3 no longer offers MD4/DES; HMAC-MD5 and MD5
 * from node:crypto). This module only frames tokens for the `Authorization: Negotiate …` header, which is
 * what WinRM advertises (a raw NTLMSSP token inside Negotiate is accepted by Windows' SPNEGO).
 *
 * The handshake is connection-bound: NEGOTIATE and AUTHENTICATE must travel on the same TCP (TLS)
 * connection; winrm-http.ts ensures that. No session key is negotiated (no sign/seal flags), so message
 * encryption for plain HTTP is not available — see winrm.ts for why NTLM is HTTPS-only.
 */

import { createType1Message, createType3Message, parseType2Message, type Type2Message } from "@node-ntlm/core";
import { CollectError } from "./errors.ts";

export interface NtlmIdentity {
  /** NetBIOS or DNS domain; empty for a local account or when `username` is a UPN (`user@domain`). */
  readonly domain: string;
  readonly username: string;
}

/** Splits `DOMAIN\user` into its parts; `user` and `user@domain.tld` keep an empty domain, as Windows expects. */
export function ntlmIdentity(account: string): NtlmIdentity {
  const i = account.indexOf("\\");
  if (i > 0) return { domain: account.slice(0, i), username: account.slice(i + 1) };
  return { domain: "", username: account };
}

/** Base64 NEGOTIATE (type 1) token. */
export function negotiateToken(id: NtlmIdentity, workstation: string): string {
  return stripScheme(createType1Message({ domain: id.domain, workstation }));
}

/**
 * The server's CHALLENGE (type 2) token from `WWW-Authenticate` header values (`Negotiate <b64>` or
 * `NTLM <b64>`), or undefined when the server sent none.
 */
export function challengeToken(wwwAuthenticate: readonly string[]): string | undefined {
  for (const value of wwwAuthenticate) {
    for (const part of value.split(",")) {
      const m = /^\s*(?:Negotiate|NTLM)\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(part);
      if (m?.[1]) return m[1];
    }
  }
  return undefined;
}

/** Base64 AUTHENTICATE (type 3) token answering `challenge`. The password is used here and kept nowhere. */
export function authenticateToken(challenge: string, id: NtlmIdentity, password: string, workstation: string): string {
  let msg: Type2Message;
  try {
    const raw = Buffer.from(challenge, "base64");
    if (raw.length < 32 || raw.subarray(0, 8).toString("latin1") !== "NTLMSSP\0") throw new Error("not NTLMSSP");
    msg = parseType2Message(`NTLM ${challenge}`);
    if (msg.targetInfo && (msg.targetInfoOffset ?? 0) + (msg.targetInfoLen ?? 0) > raw.length) throw new Error("truncated");
  } catch {
    throw new CollectError("protocol", "The server's NTLM challenge could not be parsed");
  }
  return stripScheme(createType3Message(msg, { domain: id.domain, username: id.username, password, workstation }));
}

function stripScheme(header: string): string {
  return header.replace(/^NTLM\s+/, "");
}
