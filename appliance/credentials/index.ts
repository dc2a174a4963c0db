/**
 * Public surface of the appliance's host credentials: the in-memory store (relay credentials opened from each
 * pull, plus the standalone credentials file), transports that follow a target's credential, and the
 * credential order handlers.
 *
 *   const hostCredentials = new HostCredentials({ key: identity.credentials, applianceId, file, log });
 *   SyncClient.open({ ..., credentials: hostCredentials });               // pull → hostCredentials.apply(...)
 *   resolveTargets({ ..., hostCredentials });                             // ssh/winrm via credentialedTransport
 *   handlers: { ...credentialOrderHandlers({ credentials: hostCredentials, targets: config.targets, pins, clock, log }) }
 */
export { HostCredentials, KINDS_FOR, type ApplyReport, type CredentialCollector, type CredentialInfo, type HostCredential, type HostCredentialsOptions } from "./store.ts";
export { createHostTransport, credentialedTransport, FIRST_PULL_WAIT_MS, transportLogOf, type HostTransportDeps, type RemoteTarget } from "./host-transport.ts";
export { credentialOrderHandlers, VALIDATE_TIMEOUT_MS, type CredentialOrderDeps } from "./order-handlers.ts";
