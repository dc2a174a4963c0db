/**
 * Styles of the client portal's pages (adopted stylesheets, like the rest of the dashboard: the relay's CSP
 * allows no inline style). Partner colours come in through `--brand` / `--accent` (branding.ts); every state
 * is said in words as well as colour.
 */
import { css } from "lit";

export const portalStyles = css`
  :host {
    display: block;
  }
  .lead {
    margin-bottom: 1rem;
  }
  .overall {
    display: flex;
    gap: 0.9rem;
    align-items: center;
    border-left: 6px solid var(--brand, #0b3954);
    margin: 0.75rem 0 1rem;
  }
  .overall.ok {
    border-left-color: var(--ok-ink);
  }
  .overall.warn {
    border-left-color: var(--warn-ink);
  }
  .overall .headline {
    font-size: 1.2rem;
    font-weight: 700;
    margin: 0;
  }
  ul.sites > li {
    display: grid;
    grid-template-columns: minmax(10rem, 2fr) auto auto minmax(10rem, 2fr);
    gap: 0.5rem 1.25rem;
    align-items: center;
    margin-bottom: 0.6rem;
  }
  .name a {
    font-weight: 700;
    font-size: 1.1rem;
  }
  .score {
    white-space: nowrap;
    font-size: 1.4rem;
    font-weight: 700;
    border-radius: 8px;
    padding: 0.2rem 0.6rem;
    text-align: center;
  }
  .score small {
    display: block;
    font-size: 0.75rem;
    font-weight: 600;
  }
  .trend small {
    display: block;
    font-size: 0.75rem;
    color: var(--muted);
  }
  .where {
    font-size: 0.9rem;
    color: var(--muted);
    margin: 0 0 0.2rem;
  }
  ul.items > li + li,
  ul.packets > li + li {
    margin-top: 0.6rem;
  }
  .item h3,
  .packet h3 {
    margin: 0 0 0.3rem;
  }
  /* What happens next is a sentence: it wraps at any width rather than widen the card. */
  .next {
    white-space: normal;
    max-width: 100%;
    font-weight: 600;
  }
  .next.bad {
    background: none;
  }
  /* Why the score is not good news: set apart, in the warning colour's ink, not hidden in the facts line. */
  .packet .caveat {
    border-left: 4px solid var(--warn-ink);
    padding-left: 0.6rem;
    max-width: 48rem;
  }
  .packet .facts-line {
    color: var(--muted);
  }
  .packet .actions {
    display: flex;
    flex-direction: column;
    gap: 0.6rem;
    align-items: flex-start;
    margin-top: 0.6rem;
  }
  .packet osiris-kit-verifier {
    align-self: stretch;
    min-width: 0;
  }
  .packet.latest {
    border: 2px solid var(--brand, #0b3954);
  }
  .explain {
    max-width: 48rem;
  }
  details summary {
    cursor: pointer;
    color: var(--link, #0b5c8e);
  }
  .head {
    display: flex;
    flex-wrap: wrap;
    gap: 0.75rem 1.5rem;
    align-items: center;
    justify-content: space-between;
  }
  .crumbs {
    font-size: 0.9rem;
    margin-bottom: 0.4rem;
  }
  @media (max-width: 48rem) {
    ul.sites > li {
      grid-template-columns: 1fr auto;
    }
    ul.sites .facts {
      grid-column: 1 / -1;
    }
  }
  @media (max-width: 40rem) {
    nav.tabs a {
      padding: 0.35rem 0.5rem;
    }
  }
`;
