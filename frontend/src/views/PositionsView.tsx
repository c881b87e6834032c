import { HoldingsTable } from "../components/HoldingsTable";
import { StatusBlock } from "../components/StatusBlock";
import { colorFor } from "../lib/colors";
import { hrefFor } from "../lib/route";
import { useLive } from "../live/useLive";

function AgentPositions({ signature }: { signature: string }) {
  const positions = useLive(`pos-${signature}`, (live, signal) =>
    live.currentPositions(signature, signal),
  );
  return (
    <section className="panel position-card" data-testid={`positions-${signature}`}>
      <header className="panel-head">
        <h2>
          <a className="agent-name" href={hrefFor({ view: "agent", signature })}>
            <span className="swatch" style={{ background: colorFor(signature) }} />
            {signature}
          </a>
        </h2>
      </header>
      <StatusBlock state={positions} what={`positions of ${signature}`}>
        {(d) => <HoldingsTable pos={d} />}
      </StatusBlock>
    </section>
  );
}

/** Every agent's holdings side by side. */
export function PositionsView() {
  const stats = useLive("model-stats", (live, signal) => live.modelStats(signal));
  return (
    <StatusBlock
      state={stats}
      what="agents"
      isEmpty={(d) => d.data.length === 0}
      emptyText="No agent has records yet."
    >
      {(d) => (
        <div className="positions-grid">
          {d.data.map((s) => (
            <AgentPositions key={s.signature} signature={s.signature} />
          ))}
        </div>
      )}
    </StatusBlock>
  );
}
