/** First-boot provisioning: the USB stick's provisioning file, and the appliance's state read without the daemon. */
export { findProvisioningFile, globFiles, MAX_PROVISIONING_FILE_BYTES, parseProvisioningFile, PROVISIONING_FIELDS, ProvisionError, provisionedRelay, readProvisioningFile, type ProvisionErrorCode, type ProvisioningFile } from "./usb-config.ts";
export { databasePath, formatLocalStatus, readLocalStatus, type LocalStatus } from "./local-status.ts";
