/**
 * Small layout layer over pdfkit for the packet: a US Letter document with fixed metadata (so the same
 * content gives the same bytes), headings, paragraphs, wrapping tables that continue on the next page with
 * their header row, and the header band / page numbers drawn on every page at the end.
 *
 * Only the PDF standard fonts are used (Helvetica, Courier): nothing is embedded, so there is no font
 * subset tag or file-dependent byte in the output. They cover Windows-1252 only; `pdfText` replaces any
 * other character with "?" so a partner name in another script degrades visibly instead of garbling.
 */
import PDFDocument from "pdfkit";

export type Doc = PDFKit.PDFDocument;

export const PAGE = { width: 612, height: 792, left: 54, right: 54, top: 64, bottom: 58 } as const;
export const CONTENT_WIDTH = PAGE.width - PAGE.left - PAGE.right;

export const COLORS = {
  text: "#1b1b1b",
  muted: "#5f6368",
  rule: "#c8ccd0",
  zebra: "#f3f5f7",
  pass: "#2e7d32",
  fail: "#c62828",
  warn: "#b26a00",
  none: "#757575",
} as const;

export const FONT = { regular: "Helvetica", bold: "Helvetica-Bold", mono: "Courier" } as const;

// Windows-1252 beyond Latin-1: what the standard fonts can show between 0x80 and 0x9f.
const CP1252_EXTRA = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";

/** Text the standard fonts can show: anything outside Windows-1252 becomes "?"; control characters a space. */
export function pdfText(text: string): string {
  let out = "";
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0x0a) out += ch;
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0 && !CP1252_EXTRA.includes(ch))) out += c < 0x20 ? " " : "?";
    else if (c < 0x100 || CP1252_EXTRA.includes(ch)) out += ch;
    else out += "?";
  }
  return out;
}

export interface DocMeta {
  title: string;
  author: string;
  subject: string;
  keywords: string;
  /** CreationDate and ModDate: a fixed instant (the month's end), never "now". */
  date: Date;
}

/** A buffered document (pages stay open so headers and page numbers are drawn at the end). */
export function createDoc(meta: DocMeta): Doc {
  const doc = new PDFDocument({
    size: "LETTER",
    margins: { top: PAGE.top, bottom: PAGE.bottom, left: PAGE.left, right: PAGE.right },
    bufferPages: true,
    autoFirstPage: true,
    compress: true,
    pdfVersion: "1.7",
    lang: "en-US",
    displayTitle: true,
    info: {
      Title: pdfText(meta.title),
      Author: pdfText(meta.author),
      Subject: pdfText(meta.subject),
      Keywords: pdfText(meta.keywords),
      Creator: "OsirisCare relay",
      Producer: "OsirisCare packet (pdfkit)",
      CreationDate: meta.date,
      ModDate: meta.date,
    },
  });
  doc.font(FONT.regular).fontSize(9.5).fillColor(COLORS.text);
  return doc;
}

/** Ends the document and resolves with its bytes. */
export function finish(doc: Doc): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  doc.on("data", (c: Uint8Array) => chunks.push(c));
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on("end", () => {
      const total = chunks.reduce((n, c) => n + c.length, 0);
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) (out.set(c, at), (at += c.length));
      resolve(out);
    });
    doc.on("error", reject);
  });
  doc.end();
  return done;
}

const bottom = (doc: Doc) => doc.page.height - PAGE.bottom;

/** Starts a new page unless `height` points still fit below the cursor. */
export function ensureSpace(doc: Doc, height: number): void {
  if (doc.y + height > bottom(doc)) doc.addPage();
}

/** A section title with a rule under it; starts a page when fewer than `keep` points remain. */
export function heading(doc: Doc, title: string, color: string, keep = 120): void {
  ensureSpace(doc, keep);
  if (doc.y > PAGE.top + 1) doc.moveDown(0.8);
  doc.font(FONT.bold).fontSize(14).fillColor(color).text(pdfText(title), PAGE.left, doc.y, { width: CONTENT_WIDTH });
  const y = doc.y + 2;
  doc.moveTo(PAGE.left, y).lineTo(PAGE.left + CONTENT_WIDTH, y).lineWidth(0.8).strokeColor(color).stroke();
  doc.y = y + 6;
  doc.font(FONT.regular).fontSize(9.5).fillColor(COLORS.text);
}

export function subheading(doc: Doc, title: string, keep = 80): void {
  ensureSpace(doc, keep);
  doc.moveDown(0.4);
  doc.font(FONT.bold).fontSize(11).fillColor(COLORS.text).text(pdfText(title), PAGE.left, doc.y, { width: CONTENT_WIDTH });
  doc.moveDown(0.2);
  doc.font(FONT.regular).fontSize(9.5);
}

export function paragraph(doc: Doc, text: string, opts: { color?: string; size?: number; font?: string } = {}): void {
  doc.font(opts.font ?? FONT.regular).fontSize(opts.size ?? 9.5).fillColor(opts.color ?? COLORS.text);
  doc.text(pdfText(text), PAGE.left, doc.y, { width: CONTENT_WIDTH, lineGap: 1.5 });
  doc.moveDown(0.35);
  doc.font(FONT.regular).fontSize(9.5).fillColor(COLORS.text);
}

/** Bulleted lines. */
export function bullets(doc: Doc, lines: readonly string[]): void {
  for (const line of lines) {
    ensureSpace(doc, 14);
    const y = doc.y;
    doc.font(FONT.regular).fontSize(9.5).fillColor(COLORS.text).text("•", PAGE.left + 4, y, { width: 10, lineBreak: false });
    doc.text(pdfText(line), PAGE.left + 16, y, { width: CONTENT_WIDTH - 16, lineGap: 1.5 });
    doc.moveDown(0.2);
  }
}

export interface Cell {
  text: string;
  color?: string;
  bold?: boolean;
  mono?: boolean;
  /** Font size, when smaller than the table's. */
  size?: number;
}

export interface Column {
  header: string;
  /** Share of the content width (the shares of a table sum to 1). */
  width: number;
  align?: "left" | "right";
}

const CELL_PAD = 3;
/** Lines a cell may take before it is cut with "…" (a row must fit on one page). */
export const MAX_CELL_LINES = 16;

function cellFont(doc: Doc, c: Cell, tableSize: number): void {
  const size = c.size ?? tableSize;
  doc.font(c.mono ? FONT.mono : c.bold ? FONT.bold : FONT.regular).fontSize(c.mono ? size - 0.5 : size);
}

function fitCell(doc: Doc, c: Cell, width: number, size: number): string {
  cellFont(doc, c, size);
  let text = pdfText(c.text);
  const max = MAX_CELL_LINES * doc.currentLineHeight(true);
  if (doc.heightOfString(text, { width }) <= max) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (doc.heightOfString(text.slice(0, mid) + "…", { width }) <= max) lo = mid;
    else hi = mid - 1;
  }
  text = text.slice(0, lo) + "…";
  return text;
}

/** A table whose rows wrap; it continues on the next page with its header row repeated. */
export function table(doc: Doc, columns: readonly Column[], rows: readonly (readonly (string | Cell)[])[], opts: { size?: number; headerColor: string }): void {
  const size = opts.size ?? 8.5;
  const widths = columns.map((c) => c.width * CONTENT_WIDTH);
  const xs = widths.map((_, i) => PAGE.left + widths.slice(0, i).reduce((a, b) => a + b, 0));
  const drawHeader = () => {
    doc.font(FONT.bold).fontSize(size);
    const h = Math.max(...columns.map((c, i) => doc.heightOfString(pdfText(c.header), { width: widths[i]! - 2 * CELL_PAD }))) + 2 * CELL_PAD;
    ensureSpace(doc, h + 18);
    const y = doc.y;
    doc.rect(PAGE.left, y, CONTENT_WIDTH, h).fill(opts.headerColor);
    columns.forEach((c, i) => doc.fillColor("#ffffff").font(FONT.bold).fontSize(size).text(pdfText(c.header), xs[i]! + CELL_PAD, y + CELL_PAD, { width: widths[i]! - 2 * CELL_PAD, align: c.align ?? "left" }));
    doc.y = y + h;
  };
  drawHeader();
  rows.forEach((row, r) => {
    const cells = row.map((c) => (typeof c === "string" ? { text: c } : c));
    const texts = cells.map((c, i) => fitCell(doc, c, widths[i]! - 2 * CELL_PAD, size));
    const h = Math.max(...cells.map((c, i) => (cellFont(doc, c, size), doc.heightOfString(texts[i]!, { width: widths[i]! - 2 * CELL_PAD })))) + 2 * CELL_PAD;
    if (doc.y + h > bottom(doc)) {
      doc.addPage();
      drawHeader();
    }
    const y = doc.y;
    if (r % 2 === 1) doc.rect(PAGE.left, y, CONTENT_WIDTH, h).fill(COLORS.zebra);
    cells.forEach((c, i) => {
      cellFont(doc, c, size);
      doc.fillColor(c.color ?? COLORS.text).text(texts[i]!, xs[i]! + CELL_PAD, y + CELL_PAD, { width: widths[i]! - 2 * CELL_PAD, align: columns[i]?.align ?? "left" });
    });
    doc.moveTo(PAGE.left, y + h).lineTo(PAGE.left + CONTENT_WIDTH, y + h).lineWidth(0.3).strokeColor(COLORS.rule).stroke();
    doc.y = y + h;
  });
  doc.x = PAGE.left;
  doc.moveDown(0.6);
  doc.font(FONT.regular).fontSize(9.5).fillColor(COLORS.text);
}

export interface Decoration {
  /** Left of the header band (the partner's or MSP's name). */
  brand: string;
  /** Right of the header band. */
  title: string;
  /** Left of the footer. */
  footer: string;
  primary: string;
}

/** `text` cut with "…" so that it fits on one line of `width` in the current font. */
export function fitLine(doc: Doc, text: string, width: number): string {
  const t = pdfText(text);
  if (doc.widthOfString(t) <= width) return t;
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (doc.widthOfString(`${t.slice(0, mid)}…`) <= width) lo = mid;
    else hi = mid - 1;
  }
  return `${t.slice(0, lo)}…`;
}

/** Draws the header band and "Page n of m" on every buffered page. */
export function decoratePages(doc: Doc, d: Decoration): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const margins = doc.page.margins;
    doc.page.margins = { ...margins, top: 0, bottom: 0 }; // writing in the margins must not add pages
    doc.rect(0, 0, PAGE.width, 30).fill(d.primary);
    doc.font(FONT.bold).fontSize(9).fillColor("#ffffff");
    doc.text(fitLine(doc, d.brand, CONTENT_WIDTH * 0.4), PAGE.left, 11, { lineBreak: false });
    doc.font(FONT.regular).fontSize(8.5);
    doc.text(fitLine(doc, d.title, CONTENT_WIDTH * 0.58), PAGE.left + CONTENT_WIDTH * 0.42, 11, { width: CONTENT_WIDTH * 0.58, align: "right", lineBreak: false });
    const y = PAGE.height - 36;
    doc.moveTo(PAGE.left, y - 6).lineTo(PAGE.left + CONTENT_WIDTH, y - 6).lineWidth(0.5).strokeColor(COLORS.rule).stroke();
    doc.font(FONT.regular).fontSize(7.5).fillColor(COLORS.muted);
    doc.text(fitLine(doc, d.footer, CONTENT_WIDTH * 0.8), PAGE.left, y, { lineBreak: false });
    doc.text(`Page ${i - range.start + 1} of ${range.count}`, PAGE.left + CONTENT_WIDTH * 0.8, y, { width: CONTENT_WIDTH * 0.2, align: "right", lineBreak: false });
    doc.page.margins = margins;
  }
}
