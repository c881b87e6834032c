// A small files dataset with a cash dividend, replayed for real by main.py in globalSetup (the
// browser check is in dividendArena.ts). The dataset is synthetic (two STAR symbols, slowly
// rising hourly and daily bars), written to a tmp dir.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const DIVIDEND_AGENT = "baseline-buy-and-hold";
export const EX_DATE = "2025-11-05";

function weekdays(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); ) {
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
    d = new Date(d.getTime() + 86_400_000);
  }
  return out;
}

/** ai_stock_data.json + corporate_actions.json (0.20/share on SH688008, ex 2025-11-05). */
function writeDataset(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const data: Record<string, unknown> = {};
  for (const [symbol, base] of [["SH688008", 100], ["SH688009", 5]] as const) {
    const daily: unknown[] = [];
    const hourly: unknown[] = [];
    weekdays("2025-10-09", EX_DATE).forEach((day, k) => {
      const close = Math.round(base * (1 + 0.002 * k) * 100) / 100;
      daily.push({ date: day, close, vol: 5e7, amount: close * 5e7, buy1: close });
      for (const t of ["10:30:00", "11:30:00", "14:00:00", "15:00:00"]) {
        hourly.push({ date: `${day} ${t}`, close, vol: 1e7, amount: close * 1e7, buy1: close });
      }
    });
    data[symbol] = { 日线行情: daily, 小时线行情: hourly };
  }
  writeFileSync(join(dir, "ai_stock_data.json"), JSON.stringify(data));
  const action = { symbol: "SH688008", ex_date: EX_DATE, announce_date: "2025-11-03",
    cash_per_share: 0.2, bonus_per_share: 0 }; // prettier-ignore
  writeFileSync(join(dir, "corporate_actions.json"), JSON.stringify({ actions: [action] }));
}

/**
 * Replay buy-and-hold over 2025-11-04..05 on the dataset (it buys on day 1; the dividend is
 * credited before day 2's first window) and return the arena config to put in settings/.
 */
export function dividendRun(root: string, tmp: string, py: string): object {
  const dataDir = join(tmp, "divfiles");
  writeDataset(dataDir);
  const base = JSON.parse(readFileSync(join(root, "settings", "default_config.json"), "utf8"));
  const config = {
    ...base,
    description: "e2e: files dataset with a dividend",
    date_range: { init_date: "2025-11-04", end_date: EX_DATE },
    symbols: ["SH688008", "SH688009"],
    models: base.models.filter((m: { signature: string }) => m.signature === DIVIDEND_AGENT),
    data_config: { source: "files", path: dataDir },
    log_config: { data_root: join(tmp, "divdata") },
  };
  const path = join(tmp, "dividend.json");
  writeFileSync(path, JSON.stringify(config, null, 2));
  const run = spawnSync(py, ["main.py", path, "--no-backup"], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, RUNTIME_DIR: join(tmp, "divruntime") },
  });
  if (run.status !== 0) {
    throw new Error(`dividend replay failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  }
  return config;
}

