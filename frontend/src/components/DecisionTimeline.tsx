import type { Decision, Rejection, ToolCallRecord, TradeAction } from "../api/types";
import { colorFor } from "../lib/colors";
import { int, money, shortTime } from "../lib/format";
import { hrefFor } from "../lib/route";
import { CorporateActionLines } from "./CorporateActions";
import { feedWhat } from "./feedText";
import { SymbolLink } from "./SymbolLink";

/** Pretty-print JSON text (or an already parsed value); other text is shown as is. */
export function prettyJson(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "string") return JSON.stringify(value, null, 2);
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}

function oneLine(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function OutcomeBadge({ outcome }: { outcome: string }) {
  return <span className={`badge outcome-${outcome}`}>{outcome.replace(/_/g, " ")}</span>;
}

export { tradeText } from "./feedText";

function TradeList({ trades }: { trades: TradeAction[] }) {
  return (
    <table className="table compact trades">
      <thead>
        <tr>
          <th>Side</th>
          <th>Symbol</th>
          <th className="num">Shares</th>
          <th className="num">Price</th>
          <th className="num">Notional</th>
          <th className="num">Fees</th>
        </tr>
      </thead>
      <tbody>
        {trades.map((t, i) => {
          const fees = (t.commission ?? 0) + (t.stamp_duty ?? 0) + (t.transfer_fee ?? 0);
          return (
            <tr key={i}>
              <td className={t.action === "BUY" ? "buy" : "sell"}>{t.action}</td>
              <td>
                {t.symbol ? <SymbolLink symbol={t.symbol} name={t.name} /> : "—"}
              </td>
              <td className="num">{int(t.amount)}</td>
              <td className="num">{money(t.price)}</td>
              <td className="num">{money(t.notional)}</td>
              <td
                className="num"
                title={`commission ${money(t.commission)}, stamp duty ${money(t.stamp_duty)}, transfer fee ${money(t.transfer_fee)}`}
              >
                {money(fees)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function RejectionList({ rejections }: { rejections: Rejection[] }) {
  return (
    <ul className="rejections">
      {rejections.map((r, i) => (
        <li key={i}>
          <span className="badge badge-reject">{r.reason}</span>{" "}
          {[r.action, typeof r.quantity === "number" ? int(r.quantity) : null, r.symbol]
            .filter(Boolean)
            .join(" ")}
          {r.message ? <span className="muted"> — {r.message}</span> : null}
        </li>
      ))}
    </ul>
  );
}

function ToolCalls({ calls }: { calls: ToolCallRecord[] }) {
  return (
    <ol className="tool-calls">
      {calls.map((c, i) => (
        <li key={i} className={c.ok ? "" : "tool-failed"}>
          <details>
            <summary>
              <code className="tool-name">{c.name ?? "(unnamed)"}</code>
              <code className="tool-args">{oneLine(c.arguments)}</code>
              {!c.ok && <span className="badge badge-reject">{c.error_kind ?? "error"}</span>}
            </summary>
            <div className="tool-body">
              <div className="tool-label">Arguments</div>
              <pre>{prettyJson(c.arguments)}</pre>
              <div className="tool-label">Result</div>
              <pre>{prettyJson(c.result)}</pre>
            </div>
          </details>
        </li>
      ))}
    </ol>
  );
}

/** The error of an llm_error window, shown as such. */
export function DecisionError({ d }: { d: Decision }) {
  if (!d.error) return null;
  return (
    <p className="decision-error" role="note" data-testid="decision-error">
      Error: {d.error}
    </p>
  );
}

export function DecisionCard({
  d,
  showAgent = false,
  highlight = false,
}: {
  d: Decision;
  showAgent?: boolean;
  highlight?: boolean;
}) {
  return (
    <article
      className={`decision decision-${d.outcome}${highlight ? " decision-linked" : ""}`}
      data-testid="decision"
      data-window={d.window_id}
      id={`decision-${d.window_id}`}
      aria-current={highlight ? "true" : undefined}
    >
      <header className="decision-head">
        <time className="decision-time">{d.decision_time}</time>
        {showAgent && (
          <a className="agent-name" href={hrefFor({ view: "agent", signature: d.signature })}>
            <span className="swatch" style={{ background: colorFor(d.signature) }} />
            {d.signature}
          </a>
        )}
        <OutcomeBadge outcome={d.outcome} />
        <span className="meta">
          {int(d.tokens_in)} in / {int(d.tokens_out)} out tokens
          {d.llm_errors > 0 && <span className="warn"> · {d.llm_errors} LLM errors</span>}
          {d.invalid_tool_calls > 0 && (
            <span className="warn"> · {d.invalid_tool_calls} invalid tool calls</span>
          )}
          {typeof d.duration_ms === "number" && <> · {durationText(d.duration_ms)}</>}
        </span>
      </header>
      <DecisionError d={d} />
      {d.reasoning ? (
        <p className="reasoning">
          {d.reasoning}
          {d.truncated && <span className="muted"> … (truncated)</span>}
        </p>
      ) : (
        <p className="reasoning muted">(no reasoning text)</p>
      )}
      {(d.corporate_actions ?? []).length > 0 && (
        <CorporateActionLines actions={d.corporate_actions ?? []} />
      )}
      {d.trades.length > 0 && <TradeList trades={d.trades} />}
      {d.rejections.length > 0 && <RejectionList rejections={d.rejections} />}
      {d.tool_calls.length > 0 && (
        <div className="tool-section">
          <div className="tool-label">Tool calls ({d.tool_calls.length})</div>
          <ToolCalls calls={d.tool_calls} />
        </div>
      )}
    </article>
  );
}

/** "850 ms", "12.3 s" */
export function durationText(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function DecisionTimeline({
  decisions,
  highlight = null,
}: {
  decisions: Decision[];
  highlight?: string | null;
}) {
  return (
    <div className="timeline">
      {decisions.map((d) => (
        <DecisionCard
          key={`${d.signature}-${d.window_id}`}
          d={d}
          highlight={d.window_id === highlight}
        />
      ))}
    </div>
  );
}

/** One model-chat message of the arena feed: what was done, expandable reasoning, a link. */
export function DecisionSummary({ d }: { d: Decision }) {
  const what = feedWhat(d);
  const link = hrefFor({ view: "agent", signature: d.signature, decision: d.window_id });
  return (
    <li className="feed-item" data-testid="feed-item">
      <div className="feed-line">
        <span className="feed-time">{shortTime(d.decision_time)}</span>
        <a className="agent-name" href={hrefFor({ view: "agent", signature: d.signature })}>
          <span className="swatch" style={{ background: colorFor(d.signature) }} />
          {d.signature}
        </a>
        <OutcomeBadge outcome={d.outcome} />
        <span className="feed-what">{what}</span>
        <a className="feed-link" href={link} data-testid="decision-link">
          open decision
        </a>
      </div>
      <DecisionError d={d} />
      {d.reasoning && (
        <details className="feed-reason">
          <summary>{d.reasoning}</summary>
          <p className="reasoning">
            {d.reasoning}
            {d.truncated && <span className="muted"> … (truncated)</span>}
          </p>
        </details>
      )}
    </li>
  );
}
