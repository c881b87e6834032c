import type { CorporateAction, CorporateActionList } from "../api/types";
import { DASH, int, money } from "../lib/format";
import { SymbolLink } from "./SymbolLink";

/** A per-share amount with 2 to 4 decimals: 0.20, 0.125, 1.0345. */
export function perShare(v: number | null | undefined): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return DASH;
  return v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 });
}

/** Bonus shares per 10 held, as announced (10送3 → "3"; 0.45 → "4.5"). */
export function perTen(v: number | null | undefined): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return DASH;
  return (v * 10).toLocaleString("en-US", { maximumFractionDigits: 4 });
}

/**
 * One line per record: "Dividend SH688008 0.20/share × 200: +32.00 (tax 8.00)",
 * "Bonus shares SH688008 +300 (3 for 10 on 1,000 shares; sellable from 2025-06-16)".
 */
export function corporateActionText(a: CorporateAction): string {
  if (a.kind === "dividend") {
    return (
      `Dividend ${a.symbol} ${perShare(a.cash_per_share)}/share × ${int(a.shares)}: ` +
      `+${money(a.net)} (tax ${money(a.tax)})`
    );
  }
  if (a.kind === "bonus") {
    const from = a.sellable_from ? `; sellable from ${a.sellable_from}` : "";
    return (
      `Bonus shares ${a.symbol} +${int(a.new_shares)} ` +
      `(${perTen(a.bonus_per_share)} for 10 on ${int(a.shares)} shares${from})`
    );
  }
  return `${a.kind} ${a.symbol}`;
}

/** The corporate actions applied in a decision window (before its decision). */
export function CorporateActionLines({ actions }: { actions: CorporateAction[] }) {
  return (
    <ul className="corporate-actions" aria-label="Corporate actions">
      {actions.map((a, i) => (
        <li key={i} className={`corporate-${a.kind}`} data-testid="corporate-action">
          {corporateActionText(a)}
        </li>
      ))}
    </ul>
  );
}

/** One agent's dividends and bonus shares (GET /api/live/corporate-actions), oldest first. */
export function CorporateActionsTable({ list }: { list: CorporateActionList }) {
  return (
    <div className="table-wrap">
      <table className="table compact" aria-label="Dividends and bonus shares">
        <thead>
          <tr>
            <th>Ex-date</th>
            <th>Stock</th>
            <th>Kind</th>
            <th className="num">Shares</th>
            <th className="num">Per share</th>
            <th className="num">Gross</th>
            <th className="num">Tax</th>
            <th className="num">Net / new shares</th>
            <th>Sellable from</th>
            <th className="num">Cash after</th>
          </tr>
        </thead>
        <tbody>
          {list.data.map((a, i) => {
            const dividend = a.kind === "dividend";
            return (
              <tr key={`${a.window_id}-${a.symbol}-${a.kind}-${i}`} data-testid="corporate-row">
                <td>{a.ex_date ?? a.date}</td>
                <td>
                  <SymbolLink symbol={a.symbol} />
                </td>
                <td>{dividend ? "dividend" : a.kind === "bonus" ? "bonus shares" : a.kind}</td>
                <td className="num">{int(a.shares)}</td>
                <td className="num">
                  {dividend ? perShare(a.cash_per_share) : `${perTen(a.bonus_per_share)} / 10`}
                </td>
                <td className="num">{dividend ? money(a.gross) : DASH}</td>
                <td className="num">{dividend ? money(a.tax) : DASH}</td>
                <td className="num pos">
                  {dividend ? `+${money(a.net)}` : `+${int(a.new_shares)}`}
                </td>
                <td>{dividend ? DASH : (a.sellable_from ?? DASH)}</td>
                <td className="num">{money(a.cash)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="meta" data-testid="dividends-net">
        Dividends received (net of tax): {money(list.dividends_net)}
      </p>
    </div>
  );
}
