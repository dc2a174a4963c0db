/**
 * Styles of the status page. Colours meet WCAG 2.1 AA (4.5:1 or more for every text/background pair used
 * here; the lowest is 6.1:1), and state is never shown by colour alone: every coloured mark has a word
 * beside it. Layout is one column on a phone and two on wider screens.
 */
import { css } from "lit";

export const styles = css`
  :host {
    display: block;
    max-width: 64rem;
    margin: 0 auto;
    padding: 0 1rem 2rem;
    --ink: #1b1f24;
    --muted: #5a6270;
    --card: #ffffff;
    --line: #d5dae1;
    --ok-ink: #14632b;
    --ok-bg: #e6f4ea;
    --warn-ink: #8a4100;
    --warn-bg: #fff1dc;
    --unknown-ink: #454d5a;
    --unknown-bg: #eceff3;
    --focus: #0b5c8e;
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
    color: var(--focus);
  }
  :focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  header {
    padding: 1.25rem 0 0.75rem;
  }
  h1 {
    font-size: 1.6rem;
    line-height: 1.2;
    margin: 0;
  }
  .subtitle {
    margin: 0.25rem 0 0;
    color: var(--muted);
  }
  h2 {
    font-size: 1.2rem;
    margin: 1.75rem 0 0.75rem;
  }
  h3 {
    font-size: 1.05rem;
    margin: 0;
  }
  .banner {
    margin: 0.75rem 0;
    padding: 0.75rem 1rem;
    border-radius: 0.5rem;
    font-weight: 600;
  }
  .banner.simulated {
    background: #5b2a86;
    color: #ffffff;
    font-size: 1.05rem;
    letter-spacing: 0.01em;
  }
  .banner.offline {
    background: #ffe59a;
    color: #3d2b00;
    border: 2px solid #8a4100;
  }
  .banner.error {
    background: var(--warn-bg);
    color: var(--warn-ink);
  }
  .card {
    background: var(--card);
    border: 1px solid var(--line);
    border-radius: 0.75rem;
    padding: 1rem 1.25rem;
  }
  .overall {
    display: flex;
    gap: 1rem;
    align-items: flex-start;
    border-width: 2px;
  }
  .overall.ok {
    border-color: var(--ok-ink);
  }
  .overall.attention {
    border-color: var(--warn-ink);
  }
  .overall .headline {
    font-size: 1.45rem;
    font-weight: 700;
    line-height: 1.3;
    margin: 0;
  }
  .overall .detail {
    margin: 0.35rem 0 0;
  }
  .mark {
    flex: none;
    display: inline-grid;
    place-items: center;
    width: 1.6em;
    height: 1.6em;
    border-radius: 50%;
    font-weight: 700;
    line-height: 1;
  }
  .overall .mark {
    font-size: 1.6rem;
  }
  .ok .mark,
  .mark.ok {
    background: var(--ok-bg);
    color: var(--ok-ink);
  }
  .attention .mark,
  .mark.attention {
    background: var(--warn-bg);
    color: var(--warn-ink);
  }
  .unknown .mark,
  .mark.unknown {
    background: var(--unknown-bg);
    color: var(--unknown-ink);
  }
  dl.facts {
    display: grid;
    grid-template-columns: 1fr;
    gap: 0.75rem;
    margin: 1rem 0 0;
  }
  dl.facts div {
    background: var(--card);
    border: 1px solid var(--line);
    border-radius: 0.5rem;
    padding: 0.6rem 0.9rem;
  }
  dt {
    color: var(--muted);
    font-size: 0.9rem;
  }
  dd {
    margin: 0;
    font-weight: 600;
  }
  ul.plain {
    list-style: none;
    margin: 0;
    padding: 0;
  }
  ul.items > li {
    margin-bottom: 0.75rem;
  }
  .item .where {
    margin: 0 0 0.2rem;
    color: var(--muted);
    font-size: 0.9rem;
  }
  .item .status {
    margin: 0.3rem 0 0;
    font-weight: 700;
    color: var(--warn-ink);
  }
  .item .status.fixed {
    color: var(--ok-ink);
  }
  details {
    margin-top: 0.4rem;
  }
  summary {
    cursor: pointer;
    color: var(--focus);
    font-weight: 600;
    padding: 0.15rem 0;
  }
  details p {
    margin: 0.4rem 0 0;
  }
  ul.areas {
    display: grid;
    grid-template-columns: 1fr;
    gap: 0.6rem;
  }
  ul.areas li {
    display: flex;
    gap: 0.75rem;
    align-items: center;
    padding: 0.6rem 0.9rem;
  }
  .area-text {
    display: block;
    font-size: 0.95rem;
  }
  .area-title {
    display: block;
    font-weight: 700;
  }
  ul.devices > li {
    margin-bottom: 0.6rem;
  }
  .device-head {
    display: flex;
    gap: 0.75rem;
    align-items: center;
    flex-wrap: wrap;
  }
  .device-head .kind {
    color: var(--muted);
    font-size: 0.9rem;
  }
  .tag {
    display: inline-block;
    border: 1px solid #5b2a86;
    color: #5b2a86;
    border-radius: 999px;
    padding: 0 0.5rem;
    font-size: 0.8rem;
    font-weight: 700;
    text-transform: uppercase;
    letter-spacing: 0.03em;
  }
  .device .state {
    margin: 0.3rem 0 0;
  }
  .device ul {
    margin: 0.4rem 0 0;
    padding-left: 1.2rem;
  }
  footer {
    margin-top: 2rem;
    border-top: 1px solid var(--line);
    padding-top: 0.5rem;
  }
  footer dl {
    display: grid;
    grid-template-columns: 1fr;
    gap: 0.5rem;
  }
  code {
    font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
    font-size: 0.95rem;
    overflow-wrap: anywhere;
  }
  .fingerprint {
    font-size: 1.05rem;
    letter-spacing: 0.02em;
  }
  .note {
    color: var(--muted);
    font-weight: 400;
    font-size: 0.9rem;
    margin: 0.25rem 0 0;
  }
  @media (min-width: 40rem) {
    dl.facts {
      grid-template-columns: repeat(3, 1fr);
    }
    ul.areas {
      grid-template-columns: repeat(3, 1fr);
    }
    footer dl {
      grid-template-columns: max-content 1fr;
      column-gap: 1.5rem;
    }
  }
`;
