// One stable colour per agent (by signature), so an agent keeps its colour across views.
// Each signature prefers a palette slot by hash; `assignColors` resolves clashes within the set
// of agents on screen (sorted, so the same set always gets the same colours).
// 12 colours picked to stay apart from each other (CIE76 ΔE ≥ 25 for every pair) and from the
// dark background; the test checks both.
export const PALETTE = [
  "#4e8cff",
  "#ff8c1a",
  "#2fb344",
  "#f06bc8",
  "#ffe14d",
  "#17c3d6",
  "#e8453c",
  "#a77bf3",
  "#c49c6b",
  "#a9b82a",
  "#b4d2ff",
  "#7ff0a0",
];

export const BENCHMARK_COLOR = "#8b949e";

const assigned = new Map<string, string>();

function preferredSlot(signature: string): number {
  let h = 0;
  for (let i = 0; i < signature.length; i += 1) h = (h * 31 + signature.charCodeAt(i)) >>> 0;
  return h % PALETTE.length;
}

/** Give every signature of `signatures` its own colour (while the palette lasts). */
export function assignColors(signatures: readonly string[]): void {
  const agents = [...new Set(signatures)].filter((s) => !s.startsWith("benchmark")).sort();
  const key = agents.join("|");
  if (assigned.get("\u0000set") === key) return;
  assigned.clear();
  assigned.set("\u0000set", key);
  const used = new Set<number>();
  for (const sig of agents) {
    let slot = preferredSlot(sig);
    for (let k = 0; k < PALETTE.length && used.has(slot); k += 1) slot = (slot + 1) % PALETTE.length;
    used.add(slot);
    assigned.set(sig, PALETTE[slot] ?? "#4e8cff");
  }
}

export function colorFor(signature: string): string {
  if (signature.startsWith("benchmark")) return BENCHMARK_COLOR;
  return assigned.get(signature) ?? PALETTE[preferredSlot(signature)] ?? "#4e8cff";
}
