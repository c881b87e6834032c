// The one-line "what happened" of a decision in the arena's model-chat feed.
import type { CorporateAction, Decision, ToolCallRecord, TradeAction } from "../api/types";
import { int, money } from "../lib/format";

type Fields = Record<string, unknown>;

function parsed(value: unknown): Fields | null {
  let v = value;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return null;
    }
  }
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Fields) : null;
}

const num = (v: unknown): number | null => (typeof v === "number" ? v : null);
const text = (v: unknown): string | null => (typeof v === "string" && v ? v : null);

/** "BUY 100 SH688981 中芯国际 @ 114.38". */
export function tradeText(t: TradeAction): string {
  const parts = [t.action];
  if (t.amount !== undefined) parts.push(int(t.amount));
  if (t.symbol) parts.push(t.name ? `${t.symbol} ${t.name}` : t.symbol);
  if (t.price !== undefined) parts.push(`@ ${money(t.price)}`);
  return parts.join(" ");
}

/** "dividend SH688008 +32.00", "bonus SH688008 +300 shares". */
export function corporateShort(a: CorporateAction): string {
  if (a.kind === "dividend") return `dividend ${a.symbol} +${money(a.net)}`;
  if (a.kind === "bonus") return `bonus ${a.symbol} +${int(a.new_shares)} shares`;
  return `${a.kind} ${a.symbol}`;
}

/** The order a successful place_order / cancel_order call names: its result's `order`
 * (what the exchange recorded), else the call's arguments (a result cut short). */
function orderOf(call: ToolCallRecord): Fields {
  const order = parsed(call.result)?.order;
  return parsed(order) ?? parsed(call.arguments) ?? {};
}

/** "placed stop_loss SELL 200 SH688008 @ 137.00", "cancelled limit BUY 100 SH600000". */
export function orderCallText(call: ToolCallRecord): string | null {
  if (!call.ok || (call.name !== "place_order" && call.name !== "cancel_order")) return null;
  const o = orderOf(call);
  const side = text(o.action)?.toUpperCase() ?? null;
  const qty = num(o.quantity);
  const terms = [text(o.order_type), side, qty === null ? null : int(qty), text(o.symbol)];
  const what = terms.filter((t) => t !== null).join(" ");
  if (call.name === "cancel_order") return `cancelled ${what || (text(o.order_id) ?? "an order")}`;
  const price = num(o.price);
  return `placed ${what}${price === null ? "" : ` @ ${money(price)}`}`;
}

/** Trades, corporate actions and order placements/cancellations of the window, in that order;
 * "N rejected" when orders were refused and nothing traded; "no trade" when nothing happened. */
export function feedWhat(d: Decision): string {
  const parts = [
    ...d.trades.map(tradeText),
    ...(d.corporate_actions ?? []).map(corporateShort),
    ...d.tool_calls.map(orderCallText).filter((t): t is string => t !== null),
  ];
  if (d.trades.length === 0 && d.rejections.length > 0) parts.push(`${d.rejections.length} rejected`);
  return parts.length > 0 ? parts.join(", ") : "no trade";
}
