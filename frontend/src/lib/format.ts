// Number and time formatting. Every function shows "—" for a missing value, never a made-up one.

export const DASH = "—";

type Num = number | null | undefined;

const isNum = (v: Num): v is number => typeof v === "number" && Number.isFinite(v);

/** 1,234,567.89 */
export function money(v: Num, digits = 2): string {
  if (!isNum(v)) return DASH;
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** 2.35% / -1.20% ; with sign: +2.35% */
export function pct(v: Num, digits = 2, signed = false): string {
  if (!isNum(v)) return DASH;
  const text = `${v.toFixed(digits)}%`;
  return signed && v > 0 ? `+${text}` : text;
}

export function fixed(v: Num, digits = 2): string {
  if (!isNum(v)) return DASH;
  return v.toFixed(digits);
}

export function int(v: Num): string {
  if (!isNum(v)) return DASH;
  return Math.round(v).toLocaleString("en-US");
}

/** 12.3k, 4.56M — for token counts in dense tables; the exact value goes in a title attribute. */
export function compact(v: Num): string {
  if (!isNum(v)) return DASH;
  const abs = Math.abs(v);
  if (abs >= 1e9) return `${(v / 1e9).toFixed(2)}B`;
  if (abs >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  return int(v);
}

/** CSS class for a signed value: gains, losses or flat. */
export function tone(v: Num): "pos" | "neg" | "flat" {
  if (!isNum(v) || v === 0) return "flat";
  return v > 0 ? "pos" : "neg";
}

/** Parse a number printed by these formatters back ("1,234.50" → 1234.5, "2.35%" → 2.35). */
export function parseShown(text: string): number | null {
  const cleaned = text.replace(/[,%+\s]/g, "");
  if (cleaned === "" || cleaned === DASH) return null;
  const n = Number(cleaned);
  return Number.isFinite(n) ? n : null;
}

/** "2025-11-03 10:30:00" → "11-03 10:30"; ISO stamps shown as local "YYYY-MM-DD HH:MM:SS". */
export function shortTime(text: string | null | undefined): string {
  if (!text) return DASH;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})/.exec(text);
  return m ? `${m[2]}-${m[3]} ${m[4]}:${m[5]}` : text;
}

/** Show an API timestamp as written (ISO "T" replaced, fraction and offset trimmed). */
export function stamp(text: string | null | undefined): string {
  if (!text) return DASH;
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})/.exec(text);
  return m ? `${m[1]} ${m[2]}` : text;
}

/** "12 s ago" from a millisecond timestamp. */
export function ago(ms: number | null, now: number = Date.now()): string {
  if (ms === null) return DASH;
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  return `${Math.round(m / 60)} h ago`;
}
