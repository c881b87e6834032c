// One stable colour per agent (by signature), so an agent keeps its colour across views.
// Each signature prefers a palette slot by hash; `assignColors` resolves clashes within the set
// of agents on screen (sorted, so the same set always gets the same colours).
const PALETTE = [
  "#2f81f7",
  "#e3724b",
  "#3fb950",
  "#d2a8ff",
  "#f2cc60",
  "#39c5cf",
  "#ff7b9c",
  "#a5d6ff",
  "#b69a6b",
  "#8ddb8c",
  "#ffa657",
  "#7ee787",
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
    assigned.set(sig, PALETTE[slot] ?? "#2f81f7");
  }
}

export function colorFor(signature: string): string {
  if (signature.startsWith("benchmark")) return BENCHMARK_COLOR;
  return assigned.get(signature) ?? PALETTE[preferredSlot(signature)] ?? "#2f81f7";
}
