/**
 * Check categories and the weights the compliance score uses. Defined once here; the relay's scoring, the
 * reports and the UIs read them from the catalogue and never keep their own copy.
 *
 * Weights are relative importance for a small clinic's HIPAA posture and sum to 100, so a category score
 * multiplied by its weight reads as "points out of 100". Encryption, access control, backup and patching
 * weigh most because those are the failures behind most reportable breaches and OCR settlements; time,
 * network and services are supporting controls (they keep evidence trustworthy and systems working).
 */

/** The fixed list of categories, in the order reports show them. */
export const CATEGORIES = [
  "encryption",
  "access_control",
  "backup",
  "patching",
  "antivirus",
  "firewall",
  "logging",
  "accounts",
  "network",
  "time",
  "services",
] as const;

/** A check category. */
export type Category = (typeof CATEGORIES)[number];

/** Weight of each category in the overall score (sum 100). */
export const CATEGORY_WEIGHTS: Readonly<Record<Category, number>> = Object.freeze({
  encryption: 15,
  access_control: 13,
  backup: 13,
  patching: 12,
  antivirus: 10,
  firewall: 10,
  logging: 10,
  accounts: 7,
  network: 4,
  time: 3,
  services: 3,
});

/** Plain-language names for clinic staff and reports. */
export const CATEGORY_TITLES: Readonly<Record<Category, string>> = Object.freeze({
  encryption: "Encryption",
  access_control: "Access control",
  backup: "Backups",
  patching: "Updates",
  antivirus: "Virus protection",
  firewall: "Firewall",
  logging: "Activity records",
  accounts: "User accounts",
  network: "Network",
  time: "Clock accuracy",
  services: "System health",
});

/** Whether `value` is a category. */
export function isCategory(value: unknown): value is Category {
  return typeof value === "string" && (CATEGORIES as readonly string[]).includes(value);
}
