import type { CurrentPositions } from "../api/types";
import { int, money, pct, stamp, tone } from "../lib/format";
import { SymbolLink } from "./SymbolLink";

/** One agent's holdings with unrealized PnL. */
export function HoldingsTable({ pos }: { pos: CurrentPositions }) {
  const invested = pos.holdings.reduce((a, h) => a + (h.market_value ?? 0), 0);
  return (
    <>
      <div className="meta">
        As of {stamp(pos.as_of)} · cash {money(pos.cash)} · holdings {money(invested)} · equity{" "}
        {money(pos.equity)}
      </div>
      {pos.holdings.length === 0 ? (
        <div className="state state-empty">All cash — no holdings.</div>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Holdings">
            <thead>
              <tr>
                <th>Symbol</th>
                <th className="num">Shares</th>
                <th className="num" title="Shares that may be sold today (T+1)">
                  Sellable
                </th>
                <th className="num">Avg cost</th>
                <th className="num">Last price</th>
                <th className="num">Market value</th>
                <th className="num">Unrealized PnL</th>
                <th className="num">PnL %</th>
              </tr>
            </thead>
            <tbody>
              {pos.holdings.map((h) => (
                <tr key={h.symbol} data-testid={`holding-${h.symbol}`}>
                  <td>
                    <SymbolLink symbol={h.symbol} name={h.name} />
                  </td>
                  <td className="num">{int(h.shares)}</td>
                  <td className="num">{int(h.sellable)}</td>
                  <td className="num">{money(h.avg_price, 4)}</td>
                  <td className="num">{money(h.last_price)}</td>
                  <td className="num">{money(h.market_value)}</td>
                  <td className={`num ${tone(h.unrealized_pnl)}`}>{money(h.unrealized_pnl)}</td>
                  <td className={`num ${tone(h.unrealized_pnl_pct)}`}>
                    {pct(h.unrealized_pnl_pct, 2, true)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

