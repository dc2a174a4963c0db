/**
 * Row headers (`<th scope="row">`): read as the row's name (not as a small grey column header), and in a
 * `table.stack` on a phone — where the shared styles turn each row into a small card of "Label: value" lines,
 * but only for `td` — the card's first line.
 */
import { css } from "lit";

export const stackRowHeaders = css`
  tbody th[scope="row"],
  tfoot th[scope="row"] {
    color: var(--ink);
    font-size: 1rem;
  }
  @media (max-width: 40rem) {
    table.stack th[scope="row"] {
      display: block;
      width: 100%;
      border: 0;
      padding: 0.3rem 0.75rem 0.1rem;
      color: var(--ink);
      font-size: 1rem;
    }
  }
`;
