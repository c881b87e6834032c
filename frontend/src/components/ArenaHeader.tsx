import type { ArenaInfo } from "../api/types";
import { stamp } from "../lib/format";
import { selectArena } from "../live/arenaParam";
import { useLiveContext } from "../live/LiveContext";
import type { PushState } from "../live/useLiveStream";

const PUSH_TEXT: Record<PushState, string> = {
  connecting: "connecting to live updates…",
  push: "live updates",
  polling: "polling every 10 s",
};

function ArenaFacts({ a }: { a: ArenaInfo }) {
  return (
    <dl className="arena-facts" data-testid="arena-facts">
      <div>
        <dt>Config</dt>
        <dd>{a.config}</dd>
      </div>
      <div>
        <dt>Period</dt>
        <dd>
          {a.period.start} → {a.period.end}
        </dd>
      </div>
      <div>
        <dt>Data</dt>
        <dd className={a.synthetic ? "warn" : ""}>
          {a.synthetic ? "synthetic" : "real"} ({a.data_source})
        </dd>
      </div>
      <div title="The latest decision window recorded by any agent (the data's clock, not the server's)">
        <dt>Data as of</dt>
        <dd data-testid="arena-as-of">{a.last_window ? stamp(a.last_window) : "no window yet"}</dd>
      </div>
      {a.running_job && (
        <div>
          <dt>Running</dt>
          <dd>
            <a href={`#/jobs/${encodeURIComponent(a.running_job)}`}>{a.running_job}</a>
          </dd>
        </div>
      )}
    </dl>
  );
}

/** Which arena is shown (switcher) and what it is: config, period, real or synthetic, as-of. */
export function ArenaHeader() {
  const { arenas, arena, current, push } = useLiveContext();
  return (
    <div className="arena-bar" data-testid="arena-bar">
      {arenas.length > 0 && (
        <label className="arena-pick">
          <span className="meta">Arena</span>
          <select aria-label="Arena" value={arena ?? ""} onChange={(e) => selectArena(e.target.value)}>
            {arenas.map((a) => (
              <option key={a.id} value={a.id}>
                {a.id}
                {a.kind === "experiment_cell" ? " (experiment cell)" : ""}
              </option>
            ))}
          </select>
        </label>
      )}
      {current && <ArenaFacts a={current} />}
      <span className={`push push-${push}`} data-testid="push-state">
        {PUSH_TEXT[push]}
      </span>
    </div>
  );
}
