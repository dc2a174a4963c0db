/**
 * Styles shared by every dashboard component (adopted stylesheets: the relay's CSP allows no inline style).
 * Colours meet WCAG 2.1 AA (4.5:1 for text; the lowest pair here, muted text on the page background, is
 * 6.6:1); partner colours are applied through `--brand` / `--accent` with a text colour chosen for contrast
 * (branding.ts). State is never shown by colour alone: every badge says its state in words.
 */
import { css } from "lit";

export const shared = css`
  :host {
    --ink: #1b1f24;
    --muted: #4f5866;
    --bg: #f3f5f7;
    --card: #ffffff;
    --line: #d0d6de;
    --ok-ink: #14632b;
    --ok-bg: #e3f3e7;
    --warn-ink: #8a4100;
    --warn-bg: #fff1dc;
    --bad-ink: #a1161f;
    --bad-bg: #fde8e8;
    --info-ink: #0b5c8e;
    --info-bg: #e5f1fa;
    --none-ink: #454d5a;
    --none-bg: #eceff3;
    --focus: #0b5c8e;
    color: var(--ink);
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0, 0, 0, 0);
    white-space: nowrap;
    border: 0;
  }
  a {
    color: var(--link, #0b5c8e);
  }
  :focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  h1 {
    font-size: 1.5rem;
    line-height: 1.2;
    margin: 0 0 0.25rem;
  }
  h1:focus {
    outline: none;
  }
  h2 {
    font-size: 1.15rem;
    margin: 1.5rem 0 0.6rem;
  }
  h3 {
    font-size: 1rem;
    margin: 0 0 0.4rem;
  }
  p {
    margin: 0.3rem 0;
  }
  .muted {
    color: var(--muted);
  }
  .card {
    background: var(--card);
    border: 1px solid var(--line);
    border-radius: 8px;
    padding: 0.9rem 1rem;
  }
  .stack > * + * {
    margin-top: 0.75rem;
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem 1rem;
    align-items: center;
  }
  .grid {
    display: grid;
    gap: 0.75rem;
    grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr));
  }
  ul.plain {
    list-style: none;
    margin: 0;
    padding: 0;
  }
  code,
  .mono {
    font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
    font-size: 0.9em;
    overflow-wrap: anywhere;
  }
  .badge {
    display: inline-block;
    border-radius: 999px;
    padding: 0.05rem 0.55rem;
    font-size: 0.85rem;
    font-weight: 600;
    white-space: nowrap;
    border: 1px solid transparent;
  }
  .ok {
    color: var(--ok-ink);
    background: var(--ok-bg);
  }
  .warn {
    color: var(--warn-ink);
    background: var(--warn-bg);
  }
  .bad {
    color: var(--bad-ink);
    background: var(--bad-bg);
  }
  .info {
    color: var(--info-ink);
    background: var(--info-bg);
  }
  .none {
    color: var(--none-ink);
    background: var(--none-bg);
  }
  .sim {
    color: #5b2a86;
    background: #f1e8fb;
    border-color: #c9b0e6;
  }
  .banner {
    border-radius: 8px;
    padding: 0.6rem 0.9rem;
    margin: 0.5rem 0;
    border: 1px solid currentColor;
  }
  table {
    border-collapse: collapse;
    width: 100%;
    background: var(--card);
  }
  caption {
    text-align: left;
    font-weight: 600;
    padding: 0.4rem 0;
  }
  th,
  td {
    text-align: left;
    vertical-align: top;
    padding: 0.45rem 0.6rem;
    border-bottom: 1px solid var(--line);
  }
  th {
    font-size: 0.85rem;
    color: var(--muted);
    font-weight: 600;
  }
  .table-wrap {
    overflow-x: auto;
    border: 1px solid var(--line);
    border-radius: 8px;
  }
  label {
    display: block;
    font-weight: 600;
    margin-bottom: 0.2rem;
  }
  .hint {
    font-weight: normal;
    color: var(--muted);
    font-size: 0.9rem;
  }
  input,
  select,
  textarea {
    font: inherit;
    color: var(--ink);
    background: #fff;
    border: 1px solid #7a8594;
    border-radius: 6px;
    padding: 0.4rem 0.55rem;
    max-width: 100%;
  }
  input[type="checkbox"],
  input[type="radio"] {
    width: 1.1rem;
    height: 1.1rem;
    accent-color: var(--accent, #0b5c8e);
  }
  .field {
    margin-bottom: 0.75rem;
  }
  .field input:not([type="checkbox"]):not([type="radio"]),
  .field select,
  .field textarea {
    width: 100%;
  }
  .check {
    display: flex;
    gap: 0.5rem;
    align-items: flex-start;
    font-weight: normal;
  }
  button,
  .button {
    font: inherit;
    font-weight: 600;
    cursor: pointer;
    border-radius: 6px;
    padding: 0.45rem 0.9rem;
    border: 1px solid var(--accent, #0b5c8e);
    background: var(--accent, #0b5c8e);
    color: var(--accent-ink, #fff);
    text-decoration: none;
    display: inline-block;
  }
  button.secondary,
  .button.secondary {
    background: #fff;
    color: var(--link, #0b5c8e);
  }
  button.danger {
    background: #fff;
    color: var(--bad-ink);
    border-color: var(--bad-ink);
  }
  /* components/confirm.ts: a destructive action's question, in place of its button. */
  .confirm {
    display: inline-flex;
    flex-wrap: wrap;
    gap: 0.4rem 0.6rem;
    align-items: center;
    max-width: 32rem;
  }
  .confirm-text {
    flex-basis: 100%;
    font-weight: 600;
    color: var(--bad-ink);
  }
  button[disabled] {
    opacity: 0.6;
    cursor: not-allowed;
  }
  .error {
    color: var(--bad-ink);
    background: var(--bad-bg);
    border-radius: 6px;
    padding: 0.5rem 0.75rem;
  }
  .success {
    color: var(--ok-ink);
    background: var(--ok-bg);
    border-radius: 6px;
    padding: 0.5rem 0.75rem;
  }
  .unavailable {
    color: var(--none-ink);
    background: var(--none-bg);
    border-radius: 6px;
    padding: 0.75rem 1rem;
  }
  dl.facts {
    display: grid;
    grid-template-columns: max-content 1fr;
    gap: 0.3rem 1rem;
    margin: 0;
  }
  dl.facts dt {
    color: var(--muted);
  }
  dl.facts dd {
    margin: 0;
    min-width: 0;
  }
  .card > h2:first-child,
  .card > h3:first-child {
    margin-top: 0;
  }
  /* On a phone, a table.stack shows each row as a small card: "Label: value" lines. */
  @media (max-width: 40rem) {
    .table-wrap:has(table.stack) {
      border: 0;
      overflow: visible;
    }
    table.stack thead {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip: rect(0, 0, 0, 0);
    }
    table.stack,
    table.stack tbody,
    table.stack tr,
    table.stack td {
      display: block;
      width: 100%;
    }
    table.stack tr {
      border: 1px solid var(--line);
      border-radius: 8px;
      margin-bottom: 0.5rem;
      padding: 0.25rem 0;
      background: var(--card);
    }
    table.stack td {
      border: 0;
      padding: 0.2rem 0.75rem;
    }
    table.stack td[data-label]::before {
      content: attr(data-label) ": ";
      font-weight: 600;
      color: var(--muted);
    }
  }
  /* On a phone a badge that says a sentence ("The automatic fix did not work; …") wraps inside the screen. */
  @media (max-width: 40rem) {
    .badge {
      white-space: normal;
      max-width: 100%;
      overflow-wrap: anywhere;
      border-radius: 0.75rem;
    }
  }
  @media (max-width: 40rem) {
    dl.facts {
      grid-template-columns: 1fr;
    }
    dl.facts dd {
      margin-bottom: 0.4rem;
    }
  }
`;

/** The section tabs of a site page (MSP view and client portal). */
export const tabStyles = css`
  nav.tabs ul {
    display: flex;
    flex-wrap: wrap;
    gap: 0.25rem;
    list-style: none;
    margin: 1rem 0;
    padding: 0;
    border-bottom: 1px solid var(--line);
  }
  nav.tabs a {
    display: inline-block;
    padding: 0.45rem 0.75rem;
    text-decoration: none;
    border-radius: 6px 6px 0 0;
    color: var(--link, #0b5c8e);
    font-weight: 600;
  }
  nav.tabs a[aria-current="page"] {
    background: var(--card);
    color: var(--ink);
    border: 1px solid var(--line);
    border-bottom: 3px solid var(--accent, #0b5c8e);
  }
`;

/**
 * A settings panel of the Admin and Billing pages (users, API keys, channels, L2, plans, policies): a block
 * below the previous one, its form set off by a rule, fields in responsive columns (`.cols`), groups of
 * fields in fieldsets.
 */
export const panelStyles = css`
  :host {
    display: block;
    margin-top: 1rem;
  }
  form {
    margin-top: 1.25rem;
    border-top: 1px solid var(--line);
    padding-top: 0.5rem;
  }
  fieldset {
    border: 1px solid var(--line);
    border-radius: 6px;
    margin: 0 0 0.75rem;
    padding: 0.5rem 0.75rem;
  }
  legend {
    font-weight: 600;
    padding: 0 0.3rem;
  }
  .cols {
    display: grid;
    gap: 0 1rem;
    grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr));
  }
`;
