/** Public surface of the appliance config package. */
export { loadConfig, parseConfig, parseYamlMapping, MAX_CONFIG_BYTES, type ParseOptions } from "./load.ts";
export { configSchema, MIN_RETENTION_DAYS, type Config, type Target } from "./schema.ts";
export { describeConfigOptions, type ConfigOption } from "./options.ts";
export { loadCredentialsFile, type Credential, type Credentials, type PasswordCredential, type SshKeyCredential } from "./credentials.ts";
export { ConfigError, type ConfigErrorCode, type ConfigIssue } from "./errors.ts";
