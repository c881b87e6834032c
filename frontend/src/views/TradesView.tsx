import { liveApi } from "../api/client";
import { StatusBlock } from "../components/StatusBlock";
import { TradeSummaryTable, TradesTable } from "../components/TradesTable";
import { useLiveContext } from "../live/LiveContext";
import { useLive } from "../live/useLive";

/** CSV downloads of the arena's trades and equity series (one agent, or all). */
export function ExportLinks({ signature }: { signature?: string }) {
  const { arena } = useLiveContext();
  const live = liveApi(arena);
  return (
    <span className="exports" data-testid="exports">
      CSV:{" "}
      <a href={live.tradesCsvUrl(signature)} download>
        trades
      </a>{" "}
      ·{" "}
      <a href={live.pnlCsvUrl("market", signature)} download>
        equity (market)
      </a>{" "}
      ·{" "}
      <a href={live.pnlCsvUrl("cost", signature)} download>
        equity (cost)
      </a>
    </span>
  );
}

/** Completed trades (FIFO round trips) of one agent, or of all agents when no signature. */
export function TradesPanel({ signature }: { signature?: string }) {
  const trades = useLive(`trades-${signature ?? "*"}`, (live, signal) =>
    live.trades(signature, signal),
  );
  return (
    <section className="panel">
      <header className="panel-head">
        <h2>Completed trades</h2>
        <ExportLinks signature={signature} />
      </header>
      <StatusBlock
        state={trades}
        what="completed trades"
        isEmpty={(d) => d.trades.length === 0}
        emptyText="No position has been closed yet."
      >
        {(d) => (
          <>
            <TradeSummaryTable summary={d.summary} />
            <TradesTable trades={d.trades} showAgent={signature === undefined} />
          </>
        )}
      </StatusBlock>
    </section>
  );
}

export function TradesView() {
  return (
    <div className="stack">
      <TradesPanel />
    </div>
  );
}
