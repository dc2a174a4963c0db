/**
 * What the sign-in page says, as pure functions: the checks it makes before sending (an empty e-mail, text
 * that is not an e-mail address, an empty password, a link whose token cannot be one the relay issued), and
 * the relay's refusals in plain sentences. The relay checks the same rules (relay/auth/login.ts,
 * relay/auth/users.ts `emailSchema`); its schema messages name API fields ("email: must be at least 3
 * characters…"), which are for programs, not for a person at the sign-in page.
 */
import { EMAIL_PATTERN, MAGIC_LINK_TOKEN_PATTERN } from "../../../protocol/ids.ts";
import { RelayApiError } from "../../relay-client/mod.ts";

export const BAD_LINK = "This sign-in link is not valid: ask for a new one.";

export interface FieldErrors {
  email?: string;
  password?: string;
}

/** Why an e-mail address cannot be sent, or null when it can. */
export function emailProblem(email: string): string | null {
  const e = email.trim();
  if (e === "") return "Enter your e-mail address.";
  if (!EMAIL_PATTERN.test(e)) return "Enter your e-mail address in the form name@example.com.";
  return null;
}

/** The sign-in form's problems by field (empty when it can be sent). */
export function signInProblems(email: string, password: string): FieldErrors {
  const out: FieldErrors = {};
  const e = emailProblem(email);
  if (e) out.email = e;
  if (password === "") out.password = "Enter your password.";
  return out;
}

/** Whether a token from `/login#magic=…` can be one the relay issued. */
export function isMagicToken(token: string): boolean {
  return MAGIC_LINK_TOKEN_PATTERN.test(token);
}

/** The sentence for a refused sign-in step (`password`, `totp`, `magic` link, or a link `request`). */
export function refusalText(err: unknown, step: "password" | "totp" | "magic" | "request"): string {
  if (!(err instanceof RelayApiError)) return "The relay could not be reached. Check your connection and try again.";
  if (err.code === "account_locked") {
    const minutes = Math.max(1, Math.ceil((err.retryAfterS ?? 900) / 60));
    return `This account is locked after too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}, or ask your administrator.`;
  }
  if (err.code === "rate_limited" || err.status === 429) return "Too many attempts from this address. Wait a minute, then try again.";
  // The relay's own sentences for links ("…has expired (links last 30 minutes): ask for a new one").
  if (err.code === "magic_link_invalid") return /[.!?]$/.test(err.message) ? err.message : `${err.message}.`;
  if (err.code === "login_failed" || err.code === "bad_request") {
    if (step === "magic") return BAD_LINK;
    if (step === "request") return "Enter your e-mail address in the form name@example.com.";
    if (step === "totp") return "That code did not work. Enter the current code from your authenticator app.";
    return "The e-mail or password is wrong.";
  }
  if (err.status >= 500) return "The relay could not sign you in just now. Try again in a few minutes.";
  return err.message;
}
