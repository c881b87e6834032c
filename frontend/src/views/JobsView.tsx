import { useEffect, useRef, useState } from "react";
import { ApiError, api, getApiToken, setApiToken } from "../api/client";
import type { ConfigInfo, Job, JobAgent, ModelInfo, RunTradingRequest } from "../api/types";
import { StatusBlock } from "../components/StatusBlock";
import { usePolling } from "../hooks/usePolling";
import { useLiveRefresh } from "../live/useLive";
import { colorFor } from "../lib/colors";
import { int, stamp } from "../lib/format";
import {
  JOB_RUNNING_INTERVAL_MS,
  JOBS_IDLE_INTERVAL_MS,
  STATIC_INTERVAL_MS,
} from "../lib/intervals";
import { hrefFor, navigate } from "../lib/route";

/** Stream events after which the job list and the job shown are refetched. */
const JOB_EVENTS = ["job"] as const;

/** Job ids are long hex strings: show the first 8 characters (the full id is in the title). */
export const shortId = (id: string) => (id.length > 12 ? id.slice(0, 8) : id);

export const ACTIVE_STATUSES = new Set(["starting", "running", "stopping"]);
export const isActive = (status: string) => ACTIVE_STATUSES.has(status);

function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge status-${status}`} data-testid="job-status">
      {status}
    </span>
  );
}

function Progress({ done, total }: { done: number; total: number | null }) {
  const frac = total ? Math.min(1, done / total) : 0;
  return (
    <div
      className="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={total ?? undefined}
      aria-valuenow={done}
    >
      <div className="progress-fill" style={{ width: `${(frac * 100).toFixed(1)}%` }} />
      <span className="progress-text num">
        {int(done)} / {total === null ? "?" : int(total)}
      </span>
    </div>
  );
}

function jobProgress(job: Job): { done: number; total: number } {
  return job.agents.reduce(
    (acc, a) => ({ done: acc.done + a.windows_done, total: acc.total + (a.windows_total ?? 0) }),
    { done: 0, total: 0 },
  );
}

/** Shown after a 401: the server wants `Authorization: Bearer <ARENA_API_TOKEN>` on POSTs. */
function TokenPrompt() {
  const [value, setValue] = useState(getApiToken);
  const [saved, setSaved] = useState(false);
  return (
    <div className="controls token-prompt">
      <span className="meta">This server requires an API token for changes:</span>
      <input
        type="password"
        aria-label="API token"
        value={value}
        onChange={(e) => {
          setValue(e.target.value);
          setSaved(false);
        }}
      />
      <button
        type="button"
        className="btn btn-small"
        onClick={() => {
          setApiToken(value.trim());
          setSaved(true);
        }}
      >
        Save token
      </button>
      {saved && <span className="meta">saved — try again</span>}
    </div>
  );
}

function ActionError({ what, error }: { what: string; error: ApiError | null }) {
  if (!error) return null;
  return (
    <>
      <div className="state state-error" role="alert">
        {what}: {error.detail}
      </div>
      {error.status === 401 && <TokenPrompt />}
    </>
  );
}

function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, String(err));
}

// ---------------------------------------------------------------------------------------------
// Start form

/** The config's agents the server reports as ready (all of them until the models are known). */
export function runnableAgents(all: string[], modelBySig: Map<string, ModelInfo>): string[] {
  if (modelBySig.size === 0) return all;
  return all.filter((sig) => modelBySig.get(sig)?.status === "ready");
}

interface FormState {
  config: string | null;
  init: string | null;
  end: string | null;
  /** null = all agents of the config */
  agents: string[] | null;
}

function StartForm({ configs, onStarted }: { configs: ConfigInfo[]; onStarted: () => void }) {
  const [form, setForm] = useState<FormState>({ config: null, init: null, end: null, agents: null });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const fallback =
    configs.find((c) => c.config_path === "default_config.json") ?? configs[0] ?? null;
  const cfg = configs.find((c) => c.config_path === form.config) ?? fallback;
  const cfgPath = cfg?.config_path ?? null;
  const modelsPoll = usePolling(
    cfgPath ? `models-${cfgPath}` : null,
    (signal) => api.models(cfgPath ?? undefined, signal),
    STATIC_INTERVAL_MS,
  );
  const models: ModelInfo[] = modelsPoll.data?.data ?? [];
  if (!cfg) return <div className="state state-empty">No configs found in settings/.</div>;
  const init = form.init ?? cfg.init_date;
  const end = form.end ?? cfg.end_date;
  const modelBySig = new Map(models.map((m) => [m.signature, m]));
  // By default every agent that can run (ready); agents without a key or disabled stay unticked.
  const agents = form.agents ?? runnableAgents(cfg.agents, modelBySig);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!cfg) return;
    setBusy(true);
    setError(null);
    const body: RunTradingRequest = { config_path: cfg.config_path };
    if (init !== cfg.init_date) body.init_date = init;
    if (end !== cfg.end_date) body.end_date = end;
    if (agents.length !== cfg.agents.length) body.signatures = agents;
    try {
      const res = await api.runTrading(body);
      navigate({ view: "jobs", jobId: res.job_id });
      onStarted();
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  }

  const toggleAgent = (sig: string) =>
    setForm((f) => {
      const current = f.agents ?? agents;
      const next = current.includes(sig) ? current.filter((s) => s !== sig) : [...current, sig];
      return { ...f, agents: cfg.agents.filter((s) => next.includes(s)) };
    });

  return (
    <form className="start-form" onSubmit={submit} aria-label="Start a run">
      <div className="form-row">
        <label>
          <span>Config</span>
          <select
            aria-label="Config"
            value={cfg.config_path}
            onChange={(e) => setForm({ config: e.target.value, init: null, end: null, agents: null })}
          >
            {configs.map((c) => (
              <option key={c.config_path} value={c.config_path}>
                {c.config_path}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>From</span>
          <input
            type="date"
            aria-label="Start date"
            value={init}
            onChange={(e) => setForm((f) => ({ ...f, init: e.target.value }))}
          />
        </label>
        <label>
          <span>To</span>
          <input
            type="date"
            aria-label="End date"
            value={end}
            onChange={(e) => setForm((f) => ({ ...f, end: e.target.value }))}
          />
        </label>
        <button
          type="submit"
          className="btn btn-primary"
          disabled={busy || agents.length === 0 || !init || !end}
        >
          {busy ? "Starting…" : "Start run"}
        </button>
      </div>
      <p className="meta">
        {cfg.description || "—"} · {cfg.mode} · source {cfg.source}
      </p>
      <fieldset className="agent-picks">
        <legend>Agents</legend>
        {cfg.agents.map((sig) => {
          const m = modelBySig.get(sig);
          return (
            <label key={sig} className="agent-pick" title={m?.skip_reason ?? undefined}>
              <input
                type="checkbox"
                checked={agents.includes(sig)}
                onChange={() => toggleAgent(sig)}
              />
              <span className="swatch" style={{ background: colorFor(sig) }} />
              {sig}
              {m && m.status !== "ready" && (
                <span className={`badge model-${m.status}`}>{m.status.replace("_", " ")}</span>
              )}
            </label>
          );
        })}
      </fieldset>
      <ActionError what="Could not start the run" error={error} />
    </form>
  );
}

// ---------------------------------------------------------------------------------------------
// Job detail

function AgentProgressTable({ agents }: { agents: JobAgent[] }) {
  if (agents.length === 0)
    return <div className="state state-empty">No per-agent progress reported yet.</div>;
  const showWindow = agents.some((a) => a.current_window);
  return (
    <table className="table compact" aria-label="Agent progress">
      <thead>
        <tr>
          <th>Agent</th>
          <th>Status</th>
          {showWindow && <th>Current window</th>}
          <th className="progress-col">Windows</th>
        </tr>
      </thead>
      <tbody>
        {agents.map((a) => (
          <tr key={a.signature} data-testid={`job-agent-${a.signature}`}>
            <td>
              <a className="agent-name" href={hrefFor({ view: "agent", signature: a.signature })}>
                <span className="swatch" style={{ background: colorFor(a.signature) }} />
                {a.signature}
              </a>
            </td>
            <td>
              <span className={`badge status-${a.status}`}>
                {a.status === "skipped" && a.skip_reason ? `skipped: ${a.skip_reason}` : a.status}
              </span>
            </td>
            {showWindow && <td className="muted">{a.current_window ?? "—"}</td>}
            <td className="progress-col">
              {a.status === "skipped" ? (
                <span className="muted">—</span>
              ) : (
                <Progress done={a.windows_done} total={a.windows_total} />
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LogTail({ lines }: { lines: string[] }) {
  const ref = useRef<HTMLPreElement | null>(null);
  useEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <pre className="log" ref={ref} data-testid="job-log" aria-label="Log tail">
      {lines.length ? lines.join("\n") : "(log is empty)"}
    </pre>
  );
}

function JobDetail({ jobId, onChanged }: { jobId: string; onChanged: () => void }) {
  const [stopping, setStopping] = useState(false);
  const [stopError, setStopError] = useState<ApiError | null>(null);
  const [activeHint, setActiveHint] = useState(true);
  const job = usePolling(
    `job-${jobId}`,
    async (signal) => {
      const j = await api.job(jobId, signal);
      setActiveHint(isActive(j.status));
      return j;
    },
    activeHint ? JOB_RUNNING_INTERVAL_MS : JOBS_IDLE_INTERVAL_MS,
  );
  useLiveRefresh(job.refresh, JOB_EVENTS);

  async function stop() {
    setStopping(true);
    setStopError(null);
    try {
      await api.stopJob(jobId);
    } catch (err) {
      setStopError(asApiError(err));
    } finally {
      setStopping(false);
      job.refresh();
      onChanged();
    }
  }

  return (
    <section className="panel" data-testid="job-detail">
      <header className="panel-head">
        <h2>
          Job <code>{jobId}</code>
        </h2>
        {job.data && isActive(job.data.status) && (
          <button type="button" className="btn btn-danger" onClick={stop} disabled={stopping}>
            {stopping ? "Stopping…" : "Stop"}
          </button>
        )}
      </header>
      <ActionError what="Could not stop the job" error={stopError} />
      <StatusBlock state={job} what="job">
        {(j) => {
          const p = jobProgress(j);
          return (
            <>
              <dl className="kv">
                <dt>Status</dt>
                <dd>
                  <StatusBadge status={j.status} />
                  {j.exit_code !== null && <span className="muted"> exit code {j.exit_code}</span>}
                </dd>
                {j.error && (
                  <>
                    <dt>{j.status === "failed" ? "Error" : "Note"}</dt>
                    <dd className={j.status === "failed" ? "neg" : "warn"}>{j.error}</dd>
                  </>
                )}
                <dt>Config</dt>
                <dd>
                  {j.config_path}
                  {(j.init_date || j.end_date) && (
                    <span className="muted">
                      {" "}
                      · {j.init_date ?? "…"} → {j.end_date ?? "…"}
                    </span>
                  )}
                  {j.signatures && j.signatures.length > 0 && (
                    <span className="muted"> · {j.signatures.join(", ")}</span>
                  )}
                </dd>
                <dt>PID</dt>
                <dd>{j.pid ?? "—"}</dd>
                <dt>Started</dt>
                <dd>{stamp(j.started_at)}</dd>
                <dt>Ended</dt>
                <dd>{stamp(j.ended_at)}</dd>
                <dt>Data root</dt>
                <dd className="muted">{j.data_root}</dd>
                <dt>Progress</dt>
                <dd>
                  <Progress done={p.done} total={p.total} />
                </dd>
              </dl>
              <AgentProgressTable agents={j.agents} />
              <h3>Log tail</h3>
              <LogTail lines={j.log_tail} />
            </>
          );
        }}
      </StatusBlock>
    </section>
  );
}

// ---------------------------------------------------------------------------------------------

export function JobsView({ jobId }: { jobId: string | null }) {
  const [anyActive, setAnyActive] = useState(false);
  const configs = usePolling("configs", (signal) => api.configs(signal), STATIC_INTERVAL_MS);
  const jobs = usePolling(
    "jobs",
    async (signal) => {
      const list = await api.jobs(signal);
      setAnyActive(list.data.some((j) => isActive(j.status)));
      return list;
    },
    anyActive ? JOB_RUNNING_INTERVAL_MS : JOBS_IDLE_INTERVAL_MS,
  );
  useLiveRefresh(jobs.refresh, JOB_EVENTS);
  const selected = jobId ?? null;

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h2>Start a run</h2>
        </header>
        <StatusBlock
          state={configs}
          what="configs"
          isEmpty={(d) => d.data.length === 0}
          emptyText="No configs found in settings/."
        >
          {(d) => <StartForm configs={d.data} onStarted={jobs.refresh} />}
        </StatusBlock>
      </section>

      {selected && <JobDetail key={selected} jobId={selected} onChanged={jobs.refresh} />}

      <section className="panel">
        <header className="panel-head">
          <h2>Jobs</h2>
          <span className="meta">newest first</span>
        </header>
        <StatusBlock
          state={jobs}
          what="jobs"
          isEmpty={(d) => d.data.length === 0}
          emptyText="No jobs yet."
        >
          {(d) => (
            <div className="table-wrap">
              <table className="table" aria-label="Jobs">
                <thead>
                  <tr>
                    <th>Job</th>
                    <th>Status</th>
                    <th>Config</th>
                    <th>Started</th>
                    <th>Ended</th>
                    <th className="num">Exit</th>
                    <th className="progress-col">Windows</th>
                  </tr>
                </thead>
                <tbody>
                  {d.data.map((j) => {
                    const p = jobProgress(j);
                    return (
                      <tr
                        key={j.job_id}
                        className={j.job_id === selected ? "selected" : ""}
                        data-testid={`job-row-${j.job_id}`}
                      >
                        <td>
                          <a href={hrefFor({ view: "jobs", jobId: j.job_id })} title={j.job_id}>
                            <code>{shortId(j.job_id)}</code>
                          </a>
                        </td>
                        <td>
                          <StatusBadge status={j.status} />
                        </td>
                        <td>{j.config_path}</td>
                        <td>{stamp(j.started_at)}</td>
                        <td>{stamp(j.ended_at)}</td>
                        <td className="num">{j.exit_code ?? "—"}</td>
                        <td className="progress-col">
                          <Progress done={p.done} total={p.total} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </StatusBlock>
      </section>
    </div>
  );
}
