import { test } from "uvu";
import * as assert from "uvu/assert";
import { RelayApiError } from "../../relay-client/mod.ts";
import { BAD_LINK, emailProblem, isMagicToken, refusalText, signInProblems } from "./login-words.ts";

test("signInProblems() names each empty or malformed field in a short sentence", () => {
  assert.equal(signInProblems("", ""), { email: "Enter your e-mail address.", password: "Enter your password." });
  assert.equal(signInProblems("bob", "x"), { email: "Enter your e-mail address in the form name@example.com." });
  assert.equal(signInProblems(" bob@clinic.test ", "x"), {});
  assert.is(emailProblem("   "), "Enter your e-mail address.");
});

test("isMagicToken() accepts only what the relay issues (43 base64url characters)", () => {
  assert.ok(isMagicToken("a".repeat(43)));
  assert.not.ok(isMagicToken("bogus"));
  assert.not.ok(isMagicToken("a".repeat(44)));
});

test("refusalText() turns the relay's schema refusals into sentences and keeps its own sentences", () => {
  const schema = new RelayApiError(400, "bad_request", 'token: expected the token from the e-mailed link, got a value (not shown)');
  assert.is(refusalText(schema, "magic"), BAD_LINK);
  assert.is(refusalText(new RelayApiError(400, "bad_request", "email: expected an e-mail address"), "password"), "The e-mail or password is wrong.");
  assert.is(refusalText(new RelayApiError(401, "magic_link_invalid", "This sign-in link has expired (links last 30 minutes): ask for a new one"), "magic"), "This sign-in link has expired (links last 30 minutes): ask for a new one.");
  assert.match(refusalText(new RelayApiError(423, "account_locked", "locked", { retry_after_s: 600 }), "password"), /Try again in 10 minutes/);
  assert.not.match(refusalText(new TypeError("Failed to fetch"), "password"), /fetch/);
});

test.run();
