import type { CompletedTrade, TradeSummary } from "../api/types";
import { colorFor } from "../lib/colors";
import { fixed, int, money, stamp, tone } from "../lib/format";
import { hrefFor } from "../lib/route";
import { SymbolLink } from "./SymbolLink";

/** Holding time: "3.5 h", or days for long holds ("2.1 d", 24 h a day). */
export function holdingText(hours: number): string {
  return hours >= 48 ? `${fixed(hours / 24, 1)} d` : `${fixed(hours, 1)} h`;
}

/** Per agent: round trips, wins, realized PnL net of fees, biggest win and loss. */
export function TradeSummaryTable({ summary }: { summary: Record<string, TradeSummary> }) {
  const rows = Object.entries(summary).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div className="table-wrap">
      <table className="table compact" aria-label="Trade summary">
        <thead>
          <tr>
            <th>Agent</th>
            <th className="num">Trades</th>
            <th className="num">Wins</th>
            <th className="num">Realized net (CNY)</th>
            <th className="num">Biggest win</th>
            <th className="num">Biggest loss</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([sig, s]) => (
            <tr key={sig} data-testid={`trade-summary-${sig}`}>
              <td>
                <span className="agent-name">
                  <span className="swatch" style={{ background: colorFor(sig) }} />
                  {sig}
                </span>
              </td>
              <td className="num">{int(s.count)}</td>
              <td className="num">{int(s.wins)}</td>
              <td className={`num ${tone(s.realized_pnl_net)}`} data-col="realized_pnl_net">
                {money(s.realized_pnl_net)}
              </td>
              <td className="num pos" data-col="biggest_win">
                {money(s.biggest_win)}
              </td>
              <td className="num neg" data-col="biggest_loss">
                {money(s.biggest_loss)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Completed round trips, newest exit first. Dividends: the net cash dividends received on the
 * closed shares (bonus shares lower the entry price instead); both are in the realized net. */
export function TradesTable({ trades, showAgent }: { trades: CompletedTrade[]; showAgent: boolean }) {
  const sorted = [...trades].sort((a, b) => b.exit_time.localeCompare(a.exit_time));
  return (
    <div className="table-wrap">
      <table className="table compact" aria-label="Completed trades">
        <thead>
          <tr>
            {showAgent && <th>Agent</th>}
            <th>Stock</th>
            <th className="num">Shares</th>
            <th>Entry</th>
            <th>Exit</th>
            <th className="num">Held</th>
            <th className="num">Entry price</th>
            <th className="num">Exit price</th>
            <th className="num">Fees</th>
            <th className="num" title="Net cash dividends on the closed shares">
              Dividends
            </th>
            <th className="num">Realized net (CNY)</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((t, i) => (
            <tr key={`${t.signature}-${t.symbol}-${t.exit_time}-${i}`} data-testid="completed-trade">
              {showAgent && (
                <td>
                  <a className="agent-name" href={hrefFor({ view: "agent", signature: t.signature })}>
                    <span className="swatch" style={{ background: colorFor(t.signature) }} />
                    {t.signature}
                  </a>
                </td>
              )}
              <td>
                <SymbolLink symbol={t.symbol} name={t.name} />
              </td>
              <td className="num">{int(t.quantity)}</td>
              <td>{stamp(t.entry_time)}</td>
              <td>{stamp(t.exit_time)}</td>
              <td className="num">{holdingText(t.holding_hours)}</td>
              <td className="num">{money(t.entry_price, 3)}</td>
              <td className="num">{money(t.exit_price, 3)}</td>
              <td className="num">{money(t.fees)}</td>
              <td className="num" data-col="dividends">
                {money(t.dividends)}
              </td>
              <td className={`num ${tone(t.realized_pnl_net)}`} data-col="realized_pnl_net">
                {money(t.realized_pnl_net)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
