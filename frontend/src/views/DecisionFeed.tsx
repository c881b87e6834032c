import { api } from "../api/client";
import { DecisionSummary } from "../components/DecisionTimeline";
import { StatusBlock } from "../components/StatusBlock";
import { usePolling } from "../hooks/usePolling";
import { LIVE_INTERVAL_MS } from "../lib/intervals";

/** The most recent decisions of all agents, newest first. */
export function DecisionFeed({ limit = 12 }: { limit?: number }) {
  const feed = usePolling(
    `feed-${limit}`,
    (signal) => api.recentDecisions(undefined, limit, signal),
    LIVE_INTERVAL_MS,
  );
  return (
    <StatusBlock
      state={feed}
      what="recent decisions"
      isEmpty={(d) => d.data.length === 0}
      emptyText="No decisions recorded yet."
    >
      {(d) => (
        <ul className="feed">
          {d.data.map((x) => (
            <DecisionSummary key={`${x.signature}-${x.window_id}`} d={x} />
          ))}
        </ul>
      )}
    </StatusBlock>
  );
}
