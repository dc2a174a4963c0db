/**
 * `<osiris-trend-chart>`: a daily percentage series (compliance score, success rate) drawn with uPlot, either
 * full size with axes and a table of the same numbers for screen readers, or `compact` as a sparkline whose
 * text alternative says where the trend starts and ends. Days without data are gaps, never zero.
 */
import { css, html, LitElement, unsafeCSS, type PropertyValues, type TemplateResult } from "lit";
import uPlot from "uplot";
import uplotCss from "uplot/dist/uPlot.min.css?inline";
import { shared } from "../styles.ts";

export interface TrendPoint {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  value: number | null;
}

const DAY_S = 86_400;
const dayLabel = (day: string) => new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" }).format(new Date(`${day}T00:00:00Z`));

/** A one-sentence summary of a series, for the sparkline's accessible name. */
export function describeTrend(points: readonly TrendPoint[], unit = "%"): string {
  const known = points.filter((p) => p.value !== null) as { day: string; value: number }[];
  if (known.length === 0) return `No data in the last ${points.length} days`;
  const first = known[0]!;
  const last = known.at(-1)!;
  if (known.length === 1) return `${Math.floor(last.value)}${unit} on ${dayLabel(last.day)}`;
  return `From ${Math.floor(first.value)}${unit} on ${dayLabel(first.day)} to ${Math.floor(last.value)}${unit} on ${dayLabel(last.day)}`;
}

export class OsirisTrendChart extends LitElement {
  static override properties = { points: { attribute: false }, compact: { type: Boolean }, label: {}, unit: {} };
  static override styles = [
    shared,
    unsafeCSS(uplotCss),
    css`
      :host {
        display: block;
        min-width: 0;
      }
      .plot {
        width: 100%;
        min-height: 2rem;
      }
      :host([compact]) .plot {
        width: 7.5rem;
        height: 2.25rem;
        border-bottom: 1px solid var(--line);
      }
      details {
        margin-top: 0.4rem;
      }
      summary {
        cursor: pointer;
        color: var(--link, #0b5c8e);
      }
    `,
  ];

  declare points: TrendPoint[];
  declare compact: boolean;
  declare label: string;
  declare unit: string;
  #plot: uPlot | null = null;
  #resize: ResizeObserver | null = null;

  constructor() {
    super();
    this.points = [];
    this.compact = false;
    this.label = "Compliance score";
    this.unit = "%";
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#resize?.disconnect();
    this.#plot?.destroy();
    this.#plot = null;
  }

  override updated(changed: PropertyValues): void {
    if (changed.has("points") || changed.has("compact")) this.#draw();
  }

  #data(): uPlot.AlignedData {
    return [this.points.map((p) => Date.parse(`${p.day}T00:00:00Z`) / 1000), this.points.map((p) => p.value)];
  }

  #draw(): void {
    const el = this.renderRoot.querySelector<HTMLDivElement>(".plot");
    if (!el) return;
    this.#plot?.destroy();
    const accent = getComputedStyle(this).getPropertyValue("--accent").trim() || "#0b5c8e";
    const width = this.compact ? 120 : Math.max(240, el.clientWidth || 600);
    // With a few days of data there is no line to see: show the points themselves.
    const few = this.points.filter((p) => p.value !== null).length <= 3;
    const opts: uPlot.Options = this.compact
      ? {
          width,
          height: 36,
          legend: { show: false },
          cursor: { show: false },
          select: { show: false, left: 0, top: 0, width: 0, height: 0 },
          axes: [{ show: false }, { show: false }],
          // Room around 0..100 % and the first and last day, so a point on an edge is not cut in half.
          scales: { x: { time: true, range: (_u, min, max) => [min - 1.5 * DAY_S, max + 1.5 * DAY_S] }, y: { range: [-8, 108] } },
          series: [{}, { stroke: accent, width: 2, spanGaps: false, points: { show: few, size: 6, fill: accent } }],
        }
      : {
          width,
          height: 220,
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true }, y: { range: [0, 100] } },
          axes: [
            { stroke: "#4f5866", grid: { stroke: "#e3e7ec" }, space: 60, values: (_u, ticks) => ticks.map((t) => dayLabel(new Date(t * 1000).toISOString().slice(0, 10))) },
            { stroke: "#4f5866", grid: { stroke: "#e3e7ec" }, values: (_u, ticks) => ticks.map((t) => `${t}${this.unit}`), size: 50 },
          ],
          series: [{}, { label: this.label, stroke: accent, width: 2, fill: `${accent}22`, spanGaps: false, points: few ? { show: true, size: 7, fill: accent } : { size: 5, fill: accent } }],
        };
    // Half a day of room on each side, so the first and last day's points are not cut by the plot's edge.
    if (!this.compact) opts.scales!["x"]!.range = (_u, min, max) => [min - DAY_S / 2, max + DAY_S / 2];
    this.#plot = new uPlot(opts, this.#data(), el);
    if (!this.compact && !this.#resize) {
      this.#resize = new ResizeObserver(() => {
        const w = el.clientWidth;
        if (this.#plot && w > 0 && Math.abs(w - this.#plot.width) > 4) this.#plot.setSize({ width: Math.max(240, w), height: 220 });
      });
      this.#resize.observe(el);
    }
  }

  override render(): TemplateResult {
    const summary = describeTrend(this.points, this.unit);
    if (this.compact) return html`<div class="plot" role="img" aria-label=${`${this.label}: ${summary}`}></div>`;
    return html`
      <div class="plot" role="img" aria-label=${`${this.label} by day. ${summary}.`}></div>
      <details>
        <summary>Show the numbers<span class="sr-only"> of the ${this.label.toLowerCase()} chart</span></summary>
        <div class="table-wrap">
          <table>
            <caption class="sr-only">${this.label} by day</caption>
            <thead><tr><th scope="col">Day</th><th scope="col">${this.label}</th></tr></thead>
            <tbody>
              ${this.points.map((p) => html`<tr><td>${dayLabel(p.day)}</td><td>${p.value === null ? "No data" : `${Math.floor(p.value)}${this.unit}`}</td></tr>`)}
            </tbody>
          </table>
        </div>
      </details>
    `;
  }
}

customElements.define("osiris-trend-chart", OsirisTrendChart);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-trend-chart": OsirisTrendChart;
  }
}
