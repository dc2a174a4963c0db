/**
 * A statement as PDF (pdfkit, the standard Helvetica faces, nothing embedded): header, one table row per
 * clinic, the corrections, the totals. Deterministic: the document's dates are the issue time and its file
 * id derives from them, so the same statement always gives the same bytes (an auditor can compare hashes).
 */
import PDFDocument from "pdfkit";
import { formatBp, formatCents } from "./money.ts";
import type { Statement } from "./statements.ts";

const MARGIN = 50;
const ROW = 16;

const COLUMNS = [
  { title: "Clinic", width: 150, align: "left" },
  { title: "Days", width: 34, align: "right" },
  { title: "Appl.", width: 34, align: "right" },
  { title: "Monit.", width: 38, align: "right" },
  { title: "Extra", width: 34, align: "right" },
  { title: "Base", width: 58, align: "right" },
  { title: "Extras", width: 52, align: "right" },
  { title: "Amount", width: 60, align: "right" },
  { title: "Share", width: 52, align: "right" },
] as const;

const monthTitle = (month: string) => new Date(`${month}-01T00:00:00Z`).toLocaleString("en-US", { month: "long", year: "numeric", timeZone: "UTC" });

export function statementPdf(s: Statement): Promise<Uint8Array> {
  const issued = new Date(s.issued_at);
  const doc = new PDFDocument({
    size: "LETTER",
    margin: MARGIN,
    info: { Title: `Partner statement ${s.partner_name} ${s.month}`, Author: "OsirisCare relay", Subject: `Statement ${s.id}`, CreationDate: issued, ModDate: issued },
  });
  const chunks: Uint8Array[] = [];
  doc.on("data", (c: Uint8Array) => chunks.push(c));
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on("end", () => {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) (out.set(c, at), (at += c.length));
      resolve(out);
    });
    doc.on("error", reject);
  });
  const money = (c: number) => `${formatCents(c)}`;
  const bottom = () => doc.page.height - MARGIN - ROW * 2;

  doc.font("Helvetica-Bold").fontSize(18).text("Partner statement", MARGIN, MARGIN);
  doc.moveDown(0.3).font("Helvetica").fontSize(10);
  for (const line of [
    `Partner: ${s.partner_name}`,
    `Month: ${monthTitle(s.month)} (${s.days_in_month} days, each clinic's local time)`,
    `Statement: ${s.id}, issued ${s.issued_at} by ${s.issued_by}`,
    `Currency: ${s.currency}. Partner revenue share: ${formatBp(s.share_bp)} for ${s.clinics} clinic(s).`,
  ]) doc.text(line);
  doc.moveDown(1);

  /** One table row; the first cell may span `span` columns (corrections' descriptions, total labels). */
  const row = (cells: readonly string[], bold = false, span = 1) => {
    if (doc.y > bottom()) doc.addPage();
    const y = doc.y;
    let x = MARGIN;
    doc.font(bold ? "Helvetica-Bold" : "Helvetica").fontSize(9);
    for (let i = 0; i < COLUMNS.length; ) {
      const n = i === 0 ? span : 1;
      const width = COLUMNS.slice(i, i + n).reduce((w, c) => w + c.width, 0);
      doc.text(cells[i] ?? "", x, y, { width: width - 4, height: ROW - 4, align: n > 1 ? "left" : COLUMNS[i]!.align, lineBreak: false, ellipsis: true });
      x += width;
      i += n;
    }
    doc.x = MARGIN;
    doc.y = y + ROW;
  };
  row(COLUMNS.map((c) => c.title), true);
  for (const l of s.lines.filter((l) => l.kind === "clinic")) {
    row([l.org_name, `${l.active_days}/${s.days_in_month}`, String(l.active_appliances), String(l.monitored_devices), String(l.extra_devices), money(l.base_cents ?? 0), money(l.extras_cents ?? 0), money(l.amount_cents), money(l.share_cents)]);
  }
  const corrections = s.lines.filter((l) => l.kind === "correction");
  if (corrections.length) {
    doc.moveDown(0.8).font("Helvetica-Bold").fontSize(10).text("Corrections", MARGIN);
    doc.moveDown(0.3);
    for (const l of corrections) row([`#${l.line_no} ${l.org_name}: ${l.note ?? ""}`, "", "", "", "", "", "", money(l.amount_cents), money(l.share_cents)], false, 7);
  }
  doc.moveDown(0.8);
  row(["Total billed", "", "", "", "", "", "", money(s.totals.amount_cents), ""], true, 7);
  row(["Partner share", "", "", "", "", "", "", "", money(s.totals.share_cents)], true, 7);
  row(["MSP net", "", "", "", "", "", "", money(s.totals.msp_net_cents), ""], true, 7);
  doc.moveDown(1).font("Helvetica").fontSize(8).text(
    "Amounts per clinic: plan price and extra monitored devices (beyond those included), pro-rated by the days the clinic's plan was active. " +
      "This statement is immutable once issued; corrections appear as separate lines.",
    MARGIN,
    undefined,
    { width: doc.page.width - 2 * MARGIN },
  );
  doc.end();
  return done;
}
