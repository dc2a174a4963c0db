/**
 * PHI and secret scrubber for anything that leaves a clinic's site as free text: L2 planner incidents,
 * reseller syslog/webhook events, escalations. The appliance scrubs before sending and the relay scrubs again
 * on receipt, so this module is pure (no I/O, no clock) and runs unchanged in Node, Deno and browsers.
 *
 * `scrub(value)` walks a JSON value and returns a copy in which every detected identifier or secret is
 * replaced by a typed placeholder such as `[REDACTED:ssn]`, plus a count per kind. Placeholders never match
 * any rule, so scrubbing twice changes nothing (the relay's second pass reports zero redactions).
 *
 * What is detected, and the trade-offs:
 * - Text rules (below, in order) look for SSNs, labelled MRNs, phone numbers, e-mail addresses, labelled
 *   dates of birth, street addresses and ZIP codes, payment card numbers (brand prefix + Luhn), and
 *   credentials (PEM private keys, JWTs, Authorization/Cookie headers, bearer tokens, AWS access key ids,
 *   well-known API token formats, `password=`/`token:` pairs, `scheme://user:pass@` userinfo, and long
 *   high-entropy hex/base64 strings).
 * - Member names steer the walk: the value of a member named like a secret (`password`, `api_key`,
 *   `authorization`, `cookie`, `credentials`, ...) or a PHI field (`ssn`, `mrn`, `dob`, `patient_name`, ...)
 *   is replaced whole; members named like a hash or identifier (`*_hash`, `*digest`, `sha256`, `*_id`,
 *   `public_key`, `signature`, ...) are exempt from the high-entropy rule only (a 64-hex SHA-256 there is a
 *   technical fact, not a secret). Policy metadata named after a secret (`password_max_age_days`,
 *   `PasswordAuthentication`, `private_key_path`) is kept: those are exactly the facts compliance checks read.
 * - Technical content is kept: IP addresses, host and service names, versions, file paths (including Nix
 *   store paths), UUIDs, Windows SIDs, systemd template units (`user@1000.service`), unlabelled dates and
 *   times (log timestamps), hashes labelled `sha256:`/`md5=`/`digest`, SSH public keys, and JSON numbers outside
 *   PHI/secret members (counts, sizes, ports).
 * - Deliberate over-redaction: a standalone 9-digit number in text that is a valid SSN shape is redacted even
 *   without a label unless a unit follows it (a leaked SSN costs far more than a lost counter), any e-mail
 *   address is redacted, and so is an unlabelled 32+ character hex or base64 string (a hash without a label
 *   cannot be told from a key).
 * - Patient names cannot be detected reliably in free text (they are ordinary words); the design relies on
 *   facts never containing them: collectors read configuration and state, never clinical data. Only members
 *   explicitly named for a person's name are redacted.
 * - Unlabelled MRNs, 7-digit phone numbers without area code and unlabelled dates are indistinguishable from
 *   technical numbers and are not redacted.
 * The scrubber does not judge intent: text that looks like a prompt injection passes through unchanged except
 * for the identifiers in it. Guarding the planner is the gateway's job, not this module's.
 */
import type { JsonValue } from "./evidence.ts";

export const REDACTION_KINDS = [
  "ssn",
  "mrn",
  "dob",
  "phone",
  "email",
  "address",
  "zip",
  "card",
  "name",
  "password",
  "secret",
  "private_key",
  "aws_key",
  "api_key",
  "jwt",
  "bearer",
  "connection_string",
  "high_entropy",
] as const;
export type RedactionKind = (typeof REDACTION_KINDS)[number];

export interface Redaction {
  kind: RedactionKind;
  count: number;
}

export interface ScrubResult {
  value: JsonValue;
  /** Non-zero counts only, in the order of `REDACTION_KINDS`. */
  redactions: Redaction[];
}

/** Bounds on one call: scrubbing runs regexes over every string, so the work it does must be capped. */
export const SCRUB_LIMITS = {
  /** JSON facts are shallow; anything deeper is a bug, an attack or a cycle. */
  maxDepth: 64,
  /** Characters of all strings and member names together: incidents are KBs; 2 M keeps a call well under a second. */
  maxChars: 2_000_000,
  /** Values (leaves and containers) visited: bounds the walk independently of string sizes. */
  maxNodes: 200_000,
} as const;

export type ScrubErrorCode = "too_deep" | "too_large" | "too_many_nodes" | "not_json";

/** The input cannot be scrubbed: too big, too deep, or not a JSON value. Nothing partial is returned. */
export class ScrubError extends Error {
  override readonly name = "ScrubError";
  constructor(
    readonly code: ScrubErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The text that replaces a redacted span. */
export function placeholder(kind: RedactionKind): string {
  return `[REDACTED:${kind}]`;
}

const ONLY_PLACEHOLDER = /^\[REDACTED:[a-z_]+\]$/;

// ---------------------------------------------------------------------------------------------------------
// Text rules. Every quantifier that can run long is bounded, so no rule backtracks quadratically on hostile
// input. Each pattern has named groups; `redact` returns the replacement, or null to keep the match.

type Groups = Record<string, string | undefined>;

interface Match {
  text: string;
  groups: Groups;
  offset: number;
  input: string;
}

interface TextContext {
  /** The string sits under a hash/identifier member: the high-entropy rule does not apply. */
  hashLike: boolean;
  count(kind: RedactionKind): string;
}

interface TextRule {
  pattern: RegExp;
  redact(m: Match, ctx: TextContext): string | null;
}

const MONTH =
  "(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)";
const DATE =
  `(?:\\d{1,2}[/.-]\\d{1,2}[/.-](?:\\d{4}|\\d{2})|\\d{4}[/.-]\\d{1,2}[/.-]\\d{1,2}|${MONTH}\\.?\\s{1,3}\\d{1,2}(?:st|nd|rd|th)?,?\\s{1,3}\\d{4}` +
  `|\\d{1,2}(?:st|nd|rd|th)?\\s{1,3}${MONTH}\\.?,?\\s{1,3}\\d{4}|${MONTH}\\.?,?\\s{1,3}\\d{4}|\\d{8})`;
const US_STATES =
  "(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|PR|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY)";
const STREET_SUFFIXES = [
  "Street", "St", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Lane", "Ln", "Drive", "Dr", "Court", "Ct",
  "Way", "Place", "Pl", "Terrace", "Ter", "Circle", "Cir", "Parkway", "Pkwy", "Highway", "Hwy", "Square", "Sq",
  "Trail", "Trl", "Plaza", "Plz", "Alley", "Crescent", "Pike",
];
// Street names are capitalised (or all caps) words or ordinals; suffixes in title or upper case.
const SUFFIX = `(?:${STREET_SUFFIXES.flatMap((s) => [s, s.toUpperCase()]).join("|")})`;
const STREET_WORD = "(?:[A-Z][A-Za-z'-]{0,30}|\\d{1,3}(?:st|nd|rd|th))";
const CITY = "(?:[A-Z][A-Za-z'.-]{0,30}\\s){0,3}[A-Z][A-Za-z'.-]{0,30}";
const ADDRESS =
  `\\b(?<address>\\d{1,6}[A-Za-z]?\\s{1,3}(?:(?:[NSEW]|NE|NW|SE|SW|North|South|East|West)\\.?\\s{1,3})?` +
  `(?:${STREET_WORD}\\s{1,3}){0,3}${STREET_WORD}\\s{1,3}${SUFFIX}\\b\\.?` +
  `(?:,?\\s{1,3}(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Rm|Room|#)\\.?\\s{0,3}#?\\s{0,3}[A-Za-z0-9-]{1,8})?` +
  `(?:,\\s{0,3}${CITY})?(?:,?\\s{1,3}${US_STATES}\\b)?(?:,?\\s{1,3}\\d{5}(?:-\\d{4})?\\b)?)`;

const SYSTEMD_UNIT_TYPES = /^(?:service|socket|timer|target|mount|automount|path|slice|scope|device|swap)$/i;
/** Hashes and public keys introduced by their label or algorithm (`sha256:…`, `commit …`, `ssh-ed25519 AAAA…`). */
const HASH_LABEL_BEFORE =
  /(?:sha-?(?:1|224|256|384|512)|md5|blake2[bs]?|hash|digest|checksum|fingerprint|thumbprint|commit|revision|etag|ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d{3}|sk-ssh-ed25519@openssh\.com)\W{0,3}$/i;
const HASH_PREFIX = /^(?:sha(?:1|224|256|384|512)|md5)[-:]/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LOWER_WORD_SEGMENT = /(?:^|\/)[a-z]{3,}(?:\/|$)/;
/** Random base64 of ≥ 32 characters scores ≈ 4.4+ bits per character; identifiers and words score lower. */
const MIN_BASE64_ENTROPY = 4.0;
/** Random hex of ≥ 32 characters scores ≈ 3.7+; repetitive hex (padding, zeros) scores lower. */
const MIN_HEX_ENTROPY = 3.0;
const CARD_PREFIX = /^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|35|6(?:011|5|4[4-9]|22))/;

function keep(m: Match, replacement: string | null): string | null {
  return replacement === m.text ? null : replacement;
}

function unquoted(v: string): string {
  return v.replace(/^\\?["']|\\?["']$/g, "");
}

/** Replace group `name` inside the match, keeping the rest (labels, quotes) as they were. */
function replaceGroup(m: Match, name: string, ctx: TextContext, kind: RedactionKind): string | null {
  const g = m.groups[name];
  if (g === undefined || g === "" || ONLY_PLACEHOLDER.test(unquoted(g))) return null;
  const at = m.text.lastIndexOf(g);
  return keep(m, m.text.slice(0, at) + ctx.count(kind) + m.text.slice(at + g.length));
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / s.length) * Math.log2(n / s.length);
  return bits;
}

/** The high-entropy rule: is this token a random-looking secret rather than a path, UUID or labelled hash? */
function looksRandom(token: string, m: Match): boolean {
  if (token.startsWith("/") || UUID.test(token) || HASH_PREFIX.test(token)) return false;
  if (token.includes("/") && LOWER_WORD_SEGMENT.test(token)) return false; // relative path
  if (HASH_LABEL_BEFORE.test(m.input.slice(Math.max(0, m.offset - 24), m.offset))) return false;
  const body = token.replace(/=+$/, "");
  if (/^[0-9a-f]+$/i.test(body)) return /[0-9]/.test(body) && /[a-f]/i.test(body) && entropy(body) >= MIN_HEX_ENTROPY;
  return /[A-Z]/.test(body) && /[a-z]/.test(body) && /[0-9]/.test(body) && entropy(body) >= MIN_BASE64_ENTROPY;
}

const SECRET_LABEL =
  "(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)";

/** Applied in this order: credentials first (they may contain digits that look like PHI), then PHI. */
const TEXT_RULES: readonly TextRule[] = [
  {
    // A truncated block (no END line) is redacted to the end of the string.
    pattern: /(?<pem>-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|[\s\S]*$))/g,
    redact: (m, ctx) => ctx.count("private_key"),
  },
  {
    // scheme://user:password@host — the user goes too (it may be a person's login); host and path stay.
    pattern: /(?<scheme>\b[A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/)(?<userinfo>[^\s:@/?#"'[\]]{1,256}:[^\s@/?#"']{1,256})@/g,
    redact: (m, ctx) => replaceGroup(m, "userinfo", ctx, "connection_string"),
  },
  {
    pattern: /\b(?<jwt>eyJ[A-Za-z0-9_-]{4,4096}\.eyJ[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{0,4096})/g,
    redact: (m, ctx) => ctx.count("jwt"),
  },
  {
    // Authorization headers: keep the scheme, drop the credentials (to the end of the line or quote).
    pattern:
      /(?<label>\b(?:proxy-)?authorization(?:\\?["'])?\s{0,3}[:=]\s{0,3}(?:\\?["'])?)(?:(?<scheme>Bearer|Basic|Digest|Negotiate|NTLM|Token|AWS4-HMAC-SHA256)\s{1,3})?(?<cred>[^\r\n"'\\]{1,8192})/gi,
    redact: (m, ctx) => replaceGroup(m, "cred", ctx, "bearer"),
  },
  {
    pattern: /(?<label>\b(?:set-)?cookie(?:\\?["'])?\s{0,3}:\s{0,3}(?:\\?["'])?)(?<value>[^\r\n"'\\]{1,8192})/gi,
    redact: (m, ctx) => replaceGroup(m, "value", ctx, "secret"),
  },
  {
    // A bare English "bearer authentication" is not a token: require a digit or a token symbol.
    pattern: /\bBearer\s{1,3}(?<token>[A-Za-z0-9\-._~+/]{16,4096}=*)/gi,
    redact: (m, ctx) => (/[0-9._~+/-]/.test(m.groups.token ?? "") ? replaceGroup(m, "token", ctx, "bearer") : null),
  },
  {
    // AWS access key ids (long-term AKIA, temporary ASIA); the matching secret key is caught by pairs/entropy.
    pattern: /\b(?<key>(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b/g,
    redact: (m, ctx) => ctx.count("aws_key"),
  },
  {
    // GitHub, Slack, Stripe, Google, GitLab token formats.
    pattern:
      /\b(?<key>gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}|xox[abposr]-[A-Za-z0-9-]{10,250}|sk_(?:live|test)_[A-Za-z0-9]{16,247}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,64})\b/g,
    redact: (m, ctx) => ctx.count("api_key"),
  },
  {
    // label=value / label: value, also inside (escaped) JSON text. Quoted values keep their quotes. A `pwd`
    // that is a directory (`PWD=/root`) is the shell's working directory, not a password.
    pattern: new RegExp(
      `(?<label>\\b[A-Za-z0-9_.-]{0,64}?${SECRET_LABEL}(?:\\\\?["'])?\\s{0,3}[:=]\\s{0,3})` +
        `(?<value>(?<q>\\\\?["'])(?:(?!\\k<q>)[^\\r\\n]){0,8192}\\k<q>|[^\\s&,;"'<>\\\\]{1,8192})`,
      "gi",
    ),
    redact: (m, ctx) => {
      const label = (m.groups.label ?? "").toLowerCase();
      const value = unquoted(m.groups.value ?? "");
      if (value === "" || ONLY_PLACEHOLDER.test(value)) return null;
      if (/pwd\W*$/.test(label.replace(/[\s:=]+$/, "")) && /^[/~]/.test(value)) return null;
      const kind = /pass|pwd/.test(label) ? "password" : "secret";
      const q = m.groups.q;
      return (m.groups.label ?? "") + (q === undefined ? ctx.count(kind) : q + ctx.count(kind) + q);
    },
  },
  {
    pattern: /(?<![A-Za-z0-9._%+-])(?<local>[A-Za-z0-9._%+-]{1,64})@(?<domain>(?:[A-Za-z0-9-]{1,63}\.){1,8}(?<tld>[A-Za-z]{2,24}))\b/g,
    redact: (m, ctx) => (SYSTEMD_UNIT_TYPES.test(m.groups.tld ?? "") ? null : ctx.count("email")),
  },
  {
    pattern:
      /(?<label>\b(?:MRN|MR#|MR\s?(?:No\.?|Number|#)|medical\s{1,3}record(?:\s{1,3}(?:number|no\.?|num|#))?|patient\s{1,3}(?:id|no\.?|number|#))(?:\s{0,3}[:#=]\s{0,3}|\s{1,3}|-)?(?:is\s{1,3})?)(?<mrn>[A-Z]{0,4}[-#]?\d[\dA-Z-]{2,19})\b/gi,
    redact: (m, ctx) => replaceGroup(m, "mrn", ctx, "mrn"),
  },
  {
    pattern: new RegExp(
      `(?<label>\\b(?:DOB|D\\.O\\.B\\.?|date\\s{1,3}of\\s{1,3}birth|birth\\s{0,3}date|birthday|born(?:\\s{1,3}(?:on|in))?)(?:\\s{0,3}[:=-]\\s{0,3}|\\s{1,3}))(?<dob>${DATE})(?![0-9])`,
      "gi",
    ),
    redact: (m, ctx) => replaceGroup(m, "dob", ctx, "dob"),
  },
  {
    // 13–19 digits, bare or in groups (4-4-4-4, 4-6-5, 4-4-4-4-3) separated by spaces or dashes; only real
    // brand prefixes passing Luhn, so epoch milliseconds and other long numbers stay.
    pattern: /(?<!\w)(?<card>\d{13,19}|\d{4}(?:[ -]\d{3,6}){2,4})(?!\w)/g,
    redact: (m, ctx) => {
      const digits = m.text.replace(/[ -]/g, "");
      return CARD_PREFIX.test(digits) && luhn(digits) ? ctx.count("card") : null;
    },
  },
  {
    // NANP numbers with separators: (555) 123-4567, 555-123-4567, 555.123.4567, +1 555 123 4567, 1-800-...
    // Not preceded or followed by more dotted digits, so IP addresses and versions stay. The exchange may start
    // with 0/1 (invalid in NANP, but common in made-up and mistyped numbers that are still someone's intent).
    pattern:
      /(?<![\w.+-])(?<phone>(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])\d{3}[ .-]\d{4})(?![\w]|[.-]\d)/g,
    redact: (m, ctx) => ctx.count("phone"),
  },
  {
    pattern: /(?<![\w+])(?<phone>\+1[2-9]\d{2}[2-9]\d{6})(?!\d)/g,
    redact: (m, ctx) => ctx.count("phone"),
  },
  {
    // Bare ten digits are only a phone number when labelled (epoch seconds look the same).
    pattern: /(?<label>\b(?:phone|tel|telephone|fax|cell|mobile)(?:\s{0,3}(?:#|no\.?|number))?\s{0,3}[:=]?\s{0,3})(?<phone>1?[2-9]\d{2}[2-9]\d{6})(?!\d)/gi,
    redact: (m, ctx) => replaceGroup(m, "phone", ctx, "phone"),
  },
  {
    // SSN with dashes or spaces. Never-issued areas 000, 666 and 900–999, group 00 and serial 0000 are not SSNs.
    pattern: /(?<![\w-])(?<ssn>(?!000|666|9\d\d)\d{3}(?<sep>[- ])(?!00)\d{2}\k<sep>(?!0000)\d{4})(?![\w-])/g,
    redact: (m, ctx) => ctx.count("ssn"),
  },
  {
    // Nine bare digits standing alone (not part of a longer number, version, IP or dashed identifier, and not
    // a quantity followed by its unit).
    pattern:
      /(?<![A-Za-z0-9.-])(?<ssn>(?!000|666|9)\d{3}(?!00)\d{2}(?!0000)\d{4})(?![A-Za-z0-9-]|[.,]\d|\s?(?:bytes?|[KMGT]i?B|B|ms|us|ns|s|secs?|seconds|blocks|sectors|packets|files|records|rows|items|entries|events)\b)/g,
    redact: (m, ctx) => ctx.count("ssn"),
  },
  {
    pattern: new RegExp(ADDRESS, "g"),
    redact: (m, ctx) => ctx.count("address"),
  },
  {
    pattern: /\b(?<box>P\.?\s?O\.?\s{0,3}Box\s{1,3}\d{1,8})\b/gi,
    redact: (m, ctx) => ctx.count("address"),
  },
  {
    pattern: new RegExp(`(?<label>\\b${US_STATES}\\s{1,3})(?<zip>\\d{5}(?:-\\d{4})?)(?![\\w-])`, "g"),
    redact: (m, ctx) => replaceGroup(m, "zip", ctx, "zip"),
  },
  {
    pattern: /(?<label>\b(?:zip(?:\s{0,3}code)?|postal\s{0,3}code)\s{0,3}[:=#]?\s{0,3})(?<zip>\d{5}(?:-\d{4})?)(?![\w-])/gi,
    redact: (m, ctx) => replaceGroup(m, "zip", ctx, "zip"),
  },
  {
    pattern: /(?<![A-Za-z0-9+/_-])(?<token>[A-Za-z0-9+/_-]{32,}={0,2})(?![A-Za-z0-9+/_=-])/g,
    redact: (m, ctx) => (!ctx.hashLike && looksRandom(m.text, m) ? ctx.count("high_entropy") : null),
  },
];

function scrubText(input: string, ctx: TextContext): string {
  let text = input;
  for (const rule of TEXT_RULES) {
    text = text.replace(rule.pattern, (matched: string, ...rest: unknown[]) => {
      // With named groups, replace() passes (match, ...captures, offset, input, groups).
      const groups = rest[rest.length - 1] as Groups;
      const offset = rest[rest.length - 3] as number;
      const source = rest[rest.length - 2] as string;
      return rule.redact({ text: matched, groups, offset, input: source }, ctx) ?? matched;
    });
  }
  return text;
}

// ---------------------------------------------------------------------------------------------------------
// Member names. Names are normalised to snake_case first: `apiKey`, `X-Api-Key` and `API_KEY` are one name.

type Hint = { force: RedactionKind } | "hash" | null;

const PHI_MEMBERS: readonly [RegExp, RedactionKind][] = [
  [/(?:^|_)(?:ssn|social_security(?:_number|_no)?|ss_number)$/, "ssn"],
  [/(?:^|_)(?:mrn|medical_record(?:_number|_no)?|patient_id|patient_number)$/, "mrn"],
  [/(?:^|_)(?:dob|date_of_birth|birth_date|birthdate|birthday)$/, "dob"],
  [/(?:^|_)(?:patient|patient_name|first_name|last_name|full_name|given_name|family_name|middle_name|surname)$/, "name"],
];
/** Members named after a secret but describing it (policy, length, age, location): kept, checks need them. */
const METADATA_MEMBER =
  /(?:^|_)(?:policy|length|len|min|max|minimum|maximum|age|days|hours|minutes|seconds|ms|ttl|lifetime|history|complexity|count|expires|expiry|expiration|expired|enabled|disabled|required|set|last_set|changed|updated|authentication|method|type|kind|algorithm|format|status|state|present|exists|configured|file|path|location|dir|rotation|rotated|mode|strength|source|provider|hint|url|uri|endpoint|name)$/;
const SECRET_MEMBER =
  /(?:^|_)(?:pwd|token|access_token|refresh_token|id_token|auth_token|secret_key|access_key|signing_key|encryption_key|master_key|authorization|cookie|cookies|set_cookie|session_id|session_key|connection_string|conn_str|dsn)$|password|passwd|passphrase|secret|credential|private_key|api_key|apikey/;
const HASH_MEMBER =
  /hash|digest|checksum|fingerprint|thumbprint|sha\d+|md5|etag|revision|commit|integrity|signature|public_key|pubkey|(?:^|_)(?:id|ids|uuid|guid|sid|kid|nonce|sig)$/;

function normalizeName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

function memberHint(name: string): Hint {
  const n = normalizeName(name);
  for (const [re, kind] of PHI_MEMBERS) if (re.test(n)) return { force: kind };
  if (!METADATA_MEMBER.test(n) && SECRET_MEMBER.test(n)) return { force: /pass|pwd/.test(n) ? "password" : "secret" };
  return HASH_MEMBER.test(n) ? "hash" : null;
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Scrub a JSON value: returns a copy with PHI and secrets replaced by `[REDACTED:kind]` placeholders and the
 * number of redactions per kind. Throws `ScrubError` (and returns nothing partial) when the value is not JSON
 * or exceeds `SCRUB_LIMITS`.
 */
export function scrub(value: unknown): ScrubResult {
  const counts = new Map<RedactionKind, number>();
  let chars = 0;
  let nodes = 0;
  const count = (kind: RedactionKind): string => {
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    return placeholder(kind);
  };
  const text = (s: string, hashLike: boolean, path: string): string => {
    chars += s.length;
    if (chars > SCRUB_LIMITS.maxChars) {
      throw new ScrubError("too_large", `Cannot scrub a value with more than ${SCRUB_LIMITS.maxChars} characters of text: exceeded at ${path || "the top level"}`, { path });
    }
    return scrubText(s, { hashLike, count });
  };

  const walk = (v: unknown, hint: Hint, path: string, depth: number): JsonValue => {
    if (depth > SCRUB_LIMITS.maxDepth) {
      throw new ScrubError("too_deep", `Cannot scrub a value nested deeper than ${SCRUB_LIMITS.maxDepth} levels (or a cyclic one): at ${path}`, { path });
    }
    if (++nodes > SCRUB_LIMITS.maxNodes) {
      throw new ScrubError("too_many_nodes", `Cannot scrub a value with more than ${SCRUB_LIMITS.maxNodes} elements: exceeded at ${path || "the top level"}`, { path });
    }
    const forced = hint !== null && hint !== "hash" ? hint.force : null;
    if (v === null || typeof v === "boolean") return v; // cannot carry an identifier or a secret
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new ScrubError("not_json", `Cannot scrub ${v} at ${path || "the top level"}: JSON cannot represent it`, { path });
      return forced === null ? v : count(forced);
    }
    if (typeof v === "string") {
      if (forced !== null) return ONLY_PLACEHOLDER.test(v) ? v : count(forced);
      return text(v, hint === "hash", path);
    }
    if (Array.isArray(v)) {
      const out: JsonValue[] = [];
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) throw new ScrubError("not_json", `Cannot scrub a sparse array: hole at ${path}[${i}]`, { path: `${path}[${i}]` });
        out.push(walk(v[i], hint, `${path}[${i}]`, depth + 1));
      }
      return out;
    }
    if (typeof v === "object") {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new ScrubError("not_json", `Cannot scrub an instance of ${v.constructor?.name ?? "a class"} at ${path || "the top level"}: only plain JSON objects`, { path });
      }
      const entries: [string, JsonValue][] = [];
      const used = new Set<string>();
      for (const [k, child] of Object.entries(v)) {
        if (child === undefined) continue; // absent and undefined members are the same thing in JSON
        const childPath = `${path}.${k.slice(0, 64)}`;
        // Member names are text too (a map keyed by e-mail address); two that scrub alike get a suffix.
        const scrubbedName = text(k, false, childPath);
        let key = scrubbedName;
        for (let n = 2; used.has(key); n++) key = `${scrubbedName}#${n}`;
        used.add(key);
        const own = memberHint(k);
        const childHint = forced !== null ? hint : (own ?? hint);
        entries.push([key, walk(child, childHint, childPath, depth + 1)]);
      }
      return Object.fromEntries(entries); // defines members, so a "__proto__" name stays data
    }
    throw new ScrubError("not_json", `Cannot scrub a ${typeof v} at ${path || "the top level"}: not a JSON value`, { path });
  };

  const scrubbed = walk(value, null, "", 0);
  const redactions = REDACTION_KINDS.flatMap((kind) => {
    const n = counts.get(kind) ?? 0;
    return n > 0 ? [{ kind, count: n }] : [];
  });
  return { value: scrubbed, redactions };
}
