import { DecisionSummary } from "../components/DecisionTimeline";
import { StatusBlock } from "../components/StatusBlock";
import { useLive } from "../live/useLive";

/** The most recent decisions of all agents, newest first. */
export function DecisionFeed({ limit = 12 }: { limit?: number }) {
  const feed = useLive(`feed-${limit}`, (live, signal) =>
    live.recentDecisions(undefined, limit, signal),
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
