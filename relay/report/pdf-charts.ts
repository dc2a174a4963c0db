/**
 * The packet's charts, drawn as PDF vector paths (no raster images): the daily overall score as a line over
 * the month, and one horizontal bar per category. "No data" is drawn as a gap in the line and as an empty,
 * labelled bar, never as 0 or 100.
 */
import type { HistoryPoint } from "../scores/mod.ts";
import { formatPct } from "./packet-text.ts";
import { COLORS, CONTENT_WIDTH, type Doc, ensureSpace, FONT, PAGE, pdfText } from "./pdf-doc.ts";

/** The colour a score is drawn in: green from 90, amber from 60, red below. */
export function scoreColor(score: number | null): string {
  if (score === null) return COLORS.none;
  return score >= 90 ? COLORS.pass : score >= 60 ? COLORS.warn : COLORS.fail;
}

/** Daily overall score, 0–100 %, one point per day. */
export function trendChart(doc: Doc, points: readonly HistoryPoint[], color: string, height = 150): void {
  ensureSpace(doc, height + 30);
  const left = PAGE.left + 30, top = doc.y + 6, width = CONTENT_WIDTH - 40;
  const y = (v: number) => top + height - (v / 100) * height;
  const x = (i: number) => left + (points.length <= 1 ? width / 2 : (i / (points.length - 1)) * width);

  doc.font(FONT.regular).fontSize(7).lineWidth(0.4);
  for (const v of [0, 25, 50, 75, 100]) {
    doc.moveTo(left, y(v)).lineTo(left + width, y(v)).strokeColor(COLORS.rule).stroke();
    doc.fillColor(COLORS.muted).text(`${v}%`, PAGE.left, y(v) - 3, { width: 26, align: "right", lineBreak: false });
  }
  points.forEach((p, i) => {
    const day = Number(p.day.slice(8, 10));
    const last = i === points.length - 1;
    if (last || day === 1 || (day % 5 === 0 && points.length - 1 - i >= 3)) {
      doc.fillColor(COLORS.muted).text(String(day), x(i) - 10, top + height + 4, { width: 20, align: "center", lineBreak: false });
    }
  });

  // Line segments between consecutive days that both have data; a day without data breaks the line.
  doc.lineWidth(1.6).strokeColor(color);
  let drawing = false;
  points.forEach((p, i) => {
    if (p.overall === null) {
      drawing = false;
      return;
    }
    if (drawing) doc.lineTo(x(i), y(p.overall));
    else doc.moveTo(x(i), y(p.overall));
    drawing = true;
  });
  if (points.some((p) => p.overall !== null)) doc.stroke();
  for (const [i, p] of points.entries()) if (p.overall !== null) doc.circle(x(i), y(p.overall), 1.8).fill(color);
  if (points.every((p) => p.overall === null)) {
    doc.font(FONT.bold).fontSize(10).fillColor(COLORS.none).text("No data this month", left, top + height / 2 - 5, { width, align: "center", lineBreak: false });
  }
  doc.font(FONT.regular).fontSize(7).fillColor(COLORS.muted).text("Day of the month (UTC); the score at the end of each day", left, top + height + 14, { width, align: "center", lineBreak: false });
  doc.x = PAGE.left;
  doc.y = top + height + 30;
  doc.font(FONT.regular).fontSize(9.5).fillColor(COLORS.text);
}

export interface Bar {
  label: string;
  score: number | null;
  /** Small text after the value, e.g. "weight 15". */
  note: string;
}

/** One labelled horizontal bar per entry, 0–100 %. */
export function barChart(doc: Doc, bars: readonly Bar[], rowHeight = 15): void {
  ensureSpace(doc, bars.length * rowHeight + 10);
  const labelW = 110, valueW = 50, noteW = 60;
  const trackX = PAGE.left + labelW, trackW = CONTENT_WIDTH - labelW - valueW - noteW;
  let y = doc.y + 2;
  for (const b of bars) {
    doc.font(FONT.regular).fontSize(8.5).fillColor(COLORS.text).text(pdfText(b.label), PAGE.left, y + 2, { width: labelW - 6, lineBreak: false, ellipsis: true });
    doc.rect(trackX, y + 1, trackW, rowHeight - 5).fill(COLORS.zebra);
    if (b.score !== null && b.score > 0) doc.rect(trackX, y + 1, (Math.min(100, b.score) / 100) * trackW, rowHeight - 5).fill(scoreColor(b.score));
    const value = formatPct(b.score);
    doc.font(b.score === null ? FONT.regular : FONT.bold).fontSize(8.5).fillColor(scoreColor(b.score)).text(value, trackX + trackW + 4, y + 2, { width: valueW - 4, lineBreak: false });
    doc.font(FONT.regular).fontSize(7).fillColor(COLORS.muted).text(pdfText(b.note), trackX + trackW + valueW, y + 3, { width: noteW, lineBreak: false });
    y += rowHeight;
  }
  doc.x = PAGE.left;
  doc.y = y + 6;
  doc.font(FONT.regular).fontSize(9.5).fillColor(COLORS.text);
}
