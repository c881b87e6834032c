import { useEffect } from "react";
import { JOBS_CHANGED_EVENT, api } from "./api/client";
import { ArenaHeader } from "./components/ArenaHeader";
import { usePolling } from "./hooks/usePolling";
import { assignColors } from "./lib/colors";
import { COLORS_INTERVAL_MS, HEALTH_INTERVAL_MS } from "./lib/intervals";
import { LiveProvider } from "./live/LiveContext";
import { useLive } from "./live/useLive";
import { hrefFor, parseHash, type Route, useHash } from "./lib/route";
import { AgentView } from "./views/AgentView";
import { ArenaView } from "./views/ArenaView";
import { ExperimentsView } from "./views/ExperimentsView";
import { JobsView } from "./views/JobsView";
import { PositionsView } from "./views/PositionsView";
import { StockView } from "./views/StockView";
import { TradesView } from "./views/TradesView";

const TABS: { view: Route["view"]; label: string; route: Route }[] = [
  { view: "arena", label: "Arena", route: { view: "arena" } },
  { view: "agent", label: "Agents", route: { view: "agent", signature: null } },
  { view: "positions", label: "Positions", route: { view: "positions" } },
  { view: "trades", label: "Trades", route: { view: "trades" } },
  { view: "stock", label: "Stocks", route: { view: "stock", symbol: null } },
  { view: "experiments", label: "Experiments", route: { view: "experiments", name: null } },
  { view: "jobs", label: "Jobs", route: { view: "jobs", jobId: null } },
];

function ServerBadge() {
  const health = usePolling("health", (signal) => api.status(signal), HEALTH_INTERVAL_MS);
  const { refresh } = health;
  useEffect(() => {
    // a job was started or stopped: the active-job count changed
    window.addEventListener(JOBS_CHANGED_EVENT, refresh);
    return () => window.removeEventListener(JOBS_CHANGED_EVENT, refresh);
  }, [refresh]);
  if (health.error) {
    const retry = health.retryInMs !== null ? `, retrying in ${Math.round(health.retryInMs / 1000)} s` : "";
    return (
      <span className="server down" role="status" title={health.error.detail}>
        <span className="dot" /> API unreachable{retry}
      </span>
    );
  }
  if (!health.data) return <span className="server">connecting…</span>;
  const d = health.data;
  return (
    <span className="server up" role="status" title={`data root: ${d.data_root}`}>
      <span className="dot" /> API {d.version} · {d.active_jobs} active job{d.active_jobs === 1 ? "" : "s"}
    </span>
  );
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case "arena":
      return <ArenaView />;
    case "agent":
      return (
        <AgentView
          key={route.signature ?? ""}
          signature={route.signature}
          decision={route.decision ?? null}
        />
      );
    case "positions":
      return <PositionsView />;
    case "trades":
      return <TradesView />;
    case "experiments":
      return <ExperimentsView name={route.name} />;
    case "stock":
      return <StockView key={route.symbol ?? ""} symbol={route.symbol} />;
    case "jobs":
      return <JobsView jobId={route.jobId} />;
  }
}

export function App() {
  return (
    <LiveProvider>
      <Shell />
    </LiveProvider>
  );
}

function Shell() {
  const route = parseHash(useHash());
  // Agent colours are assigned over the whole set of agents, so every view agrees on them.
  const agents = useLive("agent-colors", (live, signal) => live.modelStats(signal), {
    intervalMs: COLORS_INTERVAL_MS,
  });
  if (agents.data) assignColors(agents.data.data.map((m) => m.signature));
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">
          <span className="brand-mark">A</span> AStock Arena
          <span className="brand-sub">LLMs trading China A-shares</span>
        </a>
        <nav className="tabs" aria-label="Views">
          {TABS.map((t) => (
            <a
              key={t.view}
              href={hrefFor(t.route)}
              className={route.view === t.view ? "tab active" : "tab"}
              aria-current={route.view === t.view ? "page" : undefined}
            >
              {t.label}
            </a>
          ))}
        </nav>
        <ServerBadge />
      </header>
      <ArenaHeader />
      <main className="content">
        <View route={route} />
      </main>
      <footer className="footer">
        Simulated trading on recorded or synthetic market data. Times are Beijing time (UTC+8).
      </footer>
    </div>
  );
}
