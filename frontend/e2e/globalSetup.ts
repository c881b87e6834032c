// Prepares the world for the browser tests:
//  1. a tmp data root filled by a short real replay (`python main.py <tmp config> --no-backup`,
//     demo market, the four baseline agents, 3 trading days),
//  2. a job config `settings/test_tmp_e2e_<id>.json` (the API only starts configs from settings/)
//     whose data root is a second tmp dir, long enough to be stopped while it runs,
//  2b. a config `settings/test_tmp_e2e_div_<id>.json` whose data root holds a real replay of a
//     small files dataset with a cash dividend (e2e/dividendData.ts),
//  3. the real API server (`api_server.py`) on a free port with ARENA_DATA_ROOT = the tmp root,
//     serving the built dashboard (frontend/dist) at /app/.
// Everything is removed again in teardown (set E2E_KEEP=1 to keep the tmp dir).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { dividendRun } from "./dividendData";

const HERE = dirname(fileURLToPath(import.meta.url));
export const FRONTEND = resolve(HERE, "..");
export const ROOT = resolve(FRONTEND, "..");

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    jobConfig: string;
    /** Name of a second config the arena test writes into settings/ while the server runs. */
    arenaConfig: string;
    /** Its data root (a tmp dir). */
    arenaDataRoot: string;
    /** Arena id of the dividend replay's config. */
    dividendArena: string;
    /** The data root the server shows by default (the replay's). */
    dataRoot: string;
    screenshotDir: string;
    serverPid: number;
  }
}

function python(): string {
  if (process.env.ARENA_PYTHON) return process.env.ARENA_PYTHON;
  const venv = join(ROOT, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

async function waitForServer(url: string, proc: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = "";
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`API server exited with ${proc.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`API server not ready at ${url}: ${last}`);
}

export function baselineConfig(dataRoot: string, init: string, end: string, description: string) {
  const base = JSON.parse(readFileSync(join(ROOT, "settings", "default_config.json"), "utf8"));
  return {
    ...base,
    description,
    date_range: { init_date: init, end_date: end },
    models: base.models.filter((m: { provider: string }) => m.provider === "baseline"),
    log_config: { data_root: dataRoot },
  };
}

export default async function setup(project: TestProject) {
  if (!existsSync(join(FRONTEND, "dist", "index.html"))) {
    throw new Error("frontend/dist is missing: run `npm run build` before the e2e tests");
  }
  const tmp = mkdtempSync(join(tmpdir(), "arena-e2e-"));
  const dataRoot = join(tmp, "data");
  const py = python();

  // 1. a short real replay
  const replayConfig = join(tmp, "replay.json");
  writeFileSync(
    replayConfig,
    JSON.stringify(
      baselineConfig(dataRoot, "2025-11-03", "2025-11-05", "e2e: 3-day demo replay"),
      null,
      2,
    ),
  );
  const replay = spawnSync(py, ["main.py", replayConfig, "--no-backup"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 240_000,
    env: { ...process.env, RUNTIME_DIR: join(tmp, "runtime") },
  });
  if (replay.status !== 0) {
    throw new Error(
      `replay failed (exit ${replay.status}):\n${replay.stdout}\n${replay.stderr ?? ""}`,
    );
  }

  // 2. a config the Jobs view can start: ~3 months (about 180 windows per agent), so it is
  //    still running when the test stops it
  const jobConfigName = `test_tmp_e2e_${randomUUID().slice(0, 8)}.json`;
  const jobConfigPath = join(ROOT, "settings", jobConfigName);
  writeFileSync(
    jobConfigPath,
    JSON.stringify(
      baselineConfig(join(tmp, "jobdata"), "2025-09-01", "2025-12-31", "e2e: job started from the UI"),
      null,
      2,
    ),
  );

  // the second arena's config is written by its test (the server must pick it up while running)
  const arenaConfigName = `test_tmp_e2e_arena_${randomUUID().slice(0, 8)}.json`;
  const arenaConfigPath = join(ROOT, "settings", arenaConfigName);

  // 2b. the dividend arena (a config in settings/, removed in teardown)
  const dividendName = `test_tmp_e2e_div_${randomUUID().slice(0, 8)}`;
  const dividendPath = join(ROOT, "settings", `${dividendName}.json`);
  writeFileSync(dividendPath, JSON.stringify(dividendRun(ROOT, tmp, py), null, 2));

  // 3. the API server
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const logFile = join(tmp, "api.log");
  const server = spawn(py, ["api_server.py", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    env: {
      ...process.env,
      ARENA_DATA_ROOT: dataRoot,
      ARENA_API_TOKEN: "",
      ARENA_STOP_GRACE_SECONDS: "5",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  server.stdout?.on("data", (b: Buffer) => logs.push(b.toString()));
  server.stderr?.on("data", (b: Buffer) => logs.push(b.toString()));

  const teardown = async () => {
    // stop any job the tests left running, then the server
    try {
      const res = await fetch(`${baseUrl}/api/jobs`);
      const body = (await res.json()) as { data: { job_id: string; status: string }[] };
      for (const j of body.data) {
        if (j.status === "running" || j.status === "starting") {
          await fetch(`${baseUrl}/api/stop/${j.job_id}`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: "{}",
          });
        }
      }
    } catch {
      /* server already gone */
    }
    if (server.exitCode === null) {
      server.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          server.kill("SIGKILL");
          r(null);
        }, 10_000);
        server.once("exit", () => {
          clearTimeout(t);
          r(null);
        });
      });
    }
    writeFileSync(logFile, logs.join(""));
    rmSync(jobConfigPath, { force: true });
    rmSync(arenaConfigPath, { force: true });
    rmSync(dividendPath, { force: true });
    if (!process.env.E2E_KEEP) rmSync(tmp, { recursive: true, force: true });
    else console.warn(`e2e: kept ${tmp}`);
  };

  try {
    await waitForServer(`${baseUrl}/`, server, 30_000);
  } catch (err) {
    await teardown();
    throw new Error(`${String(err)}\n${logs.join("")}`, { cause: err });
  }

  project.provide("baseUrl", baseUrl);
  project.provide("jobConfig", jobConfigName);
  project.provide("arenaConfig", arenaConfigName);
  project.provide("arenaDataRoot", join(tmp, "arenadata"));
  project.provide("dividendArena", dividendName);
  project.provide("dataRoot", dataRoot);
  project.provide("screenshotDir", join(FRONTEND, "test-results"));
  project.provide("serverPid", server.pid ?? -1);
  return teardown;
}
