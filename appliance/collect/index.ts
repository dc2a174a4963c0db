/**
 * Public surface of the collectors' transport layer: one `Transport` interface (transport.ts) with local,
 * ssh and winrm implementations, trust-on-first-use pins for host identities, the PowerShell JSON helper,
 * and the one error type. Nothing else in this folder is imported from outside it.
 */

export {
  type Clock,
  type Command,
  DEFAULT_MAX_OUTPUT_BYTES,
  MAX_OUTPUT_BYTES_LIMIT,
  MAX_SCRIPT_BYTES,
  MAX_TIMEOUT_MS,
  type RunOptions,
  type RunResult,
  type Transport,
  type TransportKind,
  type TransportLog,
} from "./transport.ts";
export { CollectError, type CollectErrorCode, type CollectErrorDetails, isCollectError } from "./errors.ts";
export { checkPin, memoryPinStore, pinKey, type PinStore, recordPin, sha256Fingerprint } from "./pins.ts";
export { createLocalTransport, DEFAULT_LOCAL_ENV, type LocalTransportOptions } from "./local.ts";
export { createSshTransport, DEFAULT_SSH_PORT, type SshAuth, type SshTransportOptions } from "./ssh.ts";
export { createWinrmTransport, type WinrmAuth, WINRM_HTTP_PORT, WINRM_HTTPS_PORT, type WinrmTransportOptions } from "./winrm.ts";
export { DEFAULT_MAX_JSON_BYTES, parsePowerShellJson, runPowerShellJson, wrapPowerShellJson } from "./powershell-json.ts";
