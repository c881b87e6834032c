import type { OrderList, RestingOrder } from "../api/types";
import { DASH, int, money, shortTime } from "../lib/format";
import { SymbolLink } from "./SymbolLink";

const OPEN = new Set(["working", "partially_filled"]);

export function isOpen(o: RestingOrder): boolean {
  return OPEN.has(o.state);
}

/** Working orders first (oldest first), then the ended ones (the latest ended first). */
export function orderRows(list: OrderList): RestingOrder[] {
  const open = list.data.filter(isOpen);
  const ended = list.data.filter((o) => !isOpen(o)).reverse();
  return [...open, ...ended];
}

/** "partially filled", "cancelled (oco)", "rejected (no_position)". */
export function stateText(o: RestingOrder): string {
  const state = o.state.replace(/_/g, " ");
  const reason = o.ended?.reason;
  return reason ? `${state} (${reason})` : state;
}

/** Working: "expires 2025-11-05"; ended: when (the bar that ended it, else its window). */
export function endText(o: RestingOrder): string {
  if (!o.ended) return o.expires_on ? `expires ${o.expires_on}` : DASH;
  return shortTime(o.ended.bar_time ?? o.ended.decision_time);
}

/** "300 @ 9.40 (11-03 11:30), 400 @ 9.45 (11-03 14:00)". */
export function fillsText(o: RestingOrder): string {
  return o.fills
    .map((f) => `${int(f.quantity)} @ ${money(f.price)} (${shortTime(f.bar_time)})`)
    .join(", ");
}

/** The OCO partner as "take_profit @ 10.00" (its id when it is not listed). */
export function partnerText(o: RestingOrder, byId: Map<string, RestingOrder>): string {
  if (!o.oco_partner) return DASH;
  const p = byId.get(o.oco_partner);
  return p ? `${p.order_type ?? "order"} @ ${money(p.price)}` : o.oco_partner;
}

/** One agent's resting orders (GET /api/live/orders). */
export function OrdersTable({ list }: { list: OrderList }) {
  const byId = new Map(list.data.map((o) => [o.order_id, o]));
  return (
    <div className="table-wrap">
      <table className="table compact" aria-label="Resting orders">
        <thead>
          <tr>
            <th>Placed</th>
            <th>Stock</th>
            <th>Side</th>
            <th>Type</th>
            <th className="num">Price</th>
            <th className="num">Qty</th>
            <th className="num">Filled</th>
            <th className="num">Avg fill</th>
            <th>State</th>
            <th>Expires / ended</th>
            <th>OCO partner</th>
          </tr>
        </thead>
        <tbody>
          {orderRows(list).map((o) => (
            <tr
              key={o.order_id}
              data-testid="order-row"
              data-order={o.order_id}
              className={isOpen(o) ? "order-open" : "order-ended"}
            >
              <td>{shortTime(o.placed_at)}</td>
              <td>{o.symbol ? <SymbolLink symbol={o.symbol} name={o.name} /> : DASH}</td>
              <td className={o.side === "BUY" ? "buy" : "sell"}>{o.side ?? DASH}</td>
              <td>{o.order_type ?? DASH}</td>
              <td className="num">{money(o.price)}</td>
              <td className="num">{int(o.quantity)}</td>
              <td className="num">{int(o.filled)}</td>
              <td className="num" title={fillsText(o) || undefined}>
                {money(o.avg_fill_price)}
              </td>
              <td title={o.ended?.message ?? undefined}>
                <span className={`badge order-${o.state}`}>{stateText(o)}</span>
              </td>
              <td>{endText(o)}</td>
              <td title={o.oco_partner ?? undefined}>{partnerText(o, byId)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="meta" data-testid="orders-working">
        {int(list.working)} working of {int(list.count)} orders
      </p>
    </div>
  );
}
