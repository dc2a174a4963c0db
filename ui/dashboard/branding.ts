/**
 * Partner branding (name, logo, colours from the session's `branding`) applied to the dashboard: colours go
 * into CSS custom properties on the app element (through the CSSOM, which the CSP allows), each with a text
 * colour picked for contrast, so a partner's pale or dark colour never makes text unreadable.
 */
import type { Branding } from "../relay-client/mod.ts";

/** The product's own colours when no partner branding applies. */
export const DEFAULT_BRAND = { primary: "#0b3954", accent: "#0b5c8e" } as const;

function channel(c: number): number {
  const s = c / 255;
  return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}

/** WCAG relative luminance of `#rrggbb`. */
export function luminance(hex: string): number {
  const n = Number.parseInt(hex.slice(1), 16);
  return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
}

/** WCAG contrast ratio of two `#rrggbb` colours. */
export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

/** White or near-black, whichever reads better on `bg`. */
export function inkOn(bg: string): string {
  return contrast(bg, "#ffffff") >= contrast(bg, "#111418") ? "#ffffff" : "#111418";
}

/** The colour itself for links on white when it has 4.5:1 there, else the default link colour. */
export function linkColour(accent: string): string {
  return contrast(accent, "#ffffff") >= 4.5 ? accent : DEFAULT_BRAND.accent;
}

const HEX = /^#[0-9a-fA-F]{6}$/;

/** Sets --brand/--brand-ink/--accent/--accent-ink/--link on `el`. */
export function applyBranding(el: HTMLElement, b: Branding): void {
  const primary = b.primary && HEX.test(b.primary) ? b.primary : DEFAULT_BRAND.primary;
  const accent = b.accent && HEX.test(b.accent) ? b.accent : DEFAULT_BRAND.accent;
  el.style.setProperty("--brand", primary);
  el.style.setProperty("--brand-ink", inkOn(primary));
  el.style.setProperty("--accent", accent);
  el.style.setProperty("--accent-ink", inkOn(accent));
  el.style.setProperty("--link", linkColour(accent));
}
