// Resting orders on the dashboard. fixtures/orders/ were recorded from the real API on the
// scenario of tests/test_live_orders.py (agent "ro", SH600000 浦发银行): BUY limit 1000 @ 9.50
// filled 300 @ 9.40 + 400 @ 9.45 then expired; an OCO exit plan placed with the real
// place_order tool at 2025-11-04 10:30 (take_profit 10.00 filled, stop_loss 9.00 cancelled);
// a SELL limit rejected at its bar; a BUY limit 8.00 still working.
import { act, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import type { Decision, OrderList, RestingOrder } from "../api/types";
import { feedWhat, orderCallText } from "../components/feedText";
import corporateDecisions from "./fixtures/corporate/recent_decisions.json";
import stats from "./fixtures/model_stats.json";
import orders from "./fixtures/orders/orders.json";
import decisions from "./fixtures/orders/recent_decisions.json";
import pnl from "./fixtures/pnl_series_market.json";
import status from "./fixtures/status.json";
import { installFakeEventSource, lastSource } from "./fakeEventSource";
import { mockApi } from "./mockApi";

const ROUTES = {
  "GET /": status,
  "GET /api/live/model-stats": stats,
  "GET /api/live/pnl-series": pnl,
  "GET /api/live/current-positions": {
    signature: "ro",
    as_of: "2025-11-04 15:00:00",
    cash: 1000381.36,
    equity: 1000381.36,
    holdings: [],
  },
  "GET /api/live/recent-decisions": decisions,
  "GET /api/live/orders": orders,
};

const STOCK = "SH600000 浦发银行";
const cellsOf = (row: HTMLElement) => [...row.querySelectorAll("td")].map((td) => td.textContent);

describe("Agent view: resting orders", () => {
  it("lists working orders first, then the ended ones, with exact terms and outcomes", async () => {
    const api = mockApi(ROUTES);
    window.location.hash = "#/agent/ro";
    render(<App />);
    const table = await screen.findByRole("table", { name: "Resting orders" });
    const rows = within(table).getAllByTestId("order-row");
    expect(rows.map(cellsOf)).toEqual([
      ["11-04 14:00", STOCK, "BUY", "limit", "8.00", "100", "0", "—", "working",
        "expires 2025-11-05", "—"],
      ["11-04 14:00", STOCK, "SELL", "limit", "10.20", "100", "0", "—",
        "rejected (no_position)", "11-04 15:00", "—"],
      ["11-04 10:30", STOCK, "SELL", "take_profit", "10.00", "700", "700", "10.00", "filled",
        "11-04 11:30", "stop_loss @ 9.00"],
      ["11-04 10:30", STOCK, "SELL", "stop_loss", "9.00", "700", "0", "—", "cancelled (oco)",
        "11-04 14:00", "take_profit @ 10.00"],
      ["11-03 10:30", STOCK, "BUY", "limit", "9.50", "1,000", "700", "9.43", "expired",
        "11-03 15:00", "—"],
    ]);
    const expired = rows[4] as HTMLElement;
    expect(expired.querySelectorAll("td")[7]?.getAttribute("title")).toBe(
      "300 @ 9.40 (11-03 11:30), 400 @ 9.45 (11-03 14:00)",
    );
    expect((rows[1] as HTMLElement).querySelectorAll("td")[8]?.getAttribute("title")).toBe(
      "You hold no SH600000, so there is nothing to sell (no short selling).",
    );
    expect(screen.getByTestId("orders-working").textContent).toBe("1 working of 5 orders");
    expect(api.callsTo("GET /api/live/orders")[0]?.url.searchParams.get("signature")).toBe("ro");
  });

  it("refetches the orders right after a stream event", async () => {
    installFakeEventSource();
    const all = orders as OrderList;
    const first = { ...(all.data[0] as RestingOrder), state: "partially_filled", ended: null };
    let served: OrderList = { ...all, data: [first], count: 1, working: 1 };
    const api = mockApi({ ...ROUTES, "GET /api/arenas": { data: [] }, "GET /api/live/orders": () => served });
    window.location.hash = "#/agent/ro";
    render(<App />);
    const table = await screen.findByRole("table", { name: "Resting orders" });
    expect(within(table).getAllByTestId("order-row")).toHaveLength(1);
    expect(screen.getByTestId("orders-working").textContent).toBe("1 working of 1 orders");
    const source = lastSource();
    act(() => source.open());
    const before = api.callsTo("GET /api/live/orders").length;
    served = all;
    act(() => source.emit("window_end", { signature: "ro", window_id: "2025-11-04T15:00" }, "7"));
    // waitFor gives up after 1 s, far below any poll: only the event can have done this
    await waitFor(() => expect(api.callsTo("GET /api/live/orders").length).toBeGreaterThan(before));
    await waitFor(() =>
      expect(screen.getByTestId("orders-working").textContent).toBe("1 working of 5 orders"),
    );
  });

  it("says so when the agent placed no resting order", async () => {
    mockApi({
      ...ROUTES,
      "GET /api/live/orders": { signature: "ro", data: [], count: 0, working: 0 },
    });
    window.location.hash = "#/agent/ro";
    render(<App />);
    expect(await screen.findByText("No resting orders placed yet.")).toBeVisible();
  });
});

describe("model-chat feed summary", () => {
  const byWindow = (list: { data: unknown[] }, id: string) =>
    (list.data as Decision[]).find((d) => d.window_id === id) as Decision;

  it("names the orders placed in a window without a trade", () => {
    expect(feedWhat(byWindow(decisions, "2025-11-04T10:30"))).toBe(
      "placed stop_loss SELL 700 SH600000 @ 9.00, placed take_profit SELL 700 SH600000 @ 10.00",
    );
    expect(feedWhat(byWindow(decisions, "2025-11-04T14:00"))).toBe("SELL 700 SH600000 @ 10.00");
    expect(feedWhat(byWindow(decisions, "2025-11-04T15:00"))).toBe("no trade");
  });

  it("names a window's dividend and bonus shares", () => {
    expect(feedWhat(byWindow(corporateDecisions, "2025-11-05T10:30"))).toBe(
      "dividend SH688008 +400.00, bonus SH688008 +300 shares",
    );
  });

  it("reads a cancellation, and the arguments when the result was cut", () => {
    const cancel = {
      name: "cancel_order",
      arguments: '{"order_id": "2025-11-04T10:30/c9"}',
      result:
        '{"status": "cancelled", "order": {"order_id": "2025-11-04T10:30/c9", "symbol": "SH600000", ' +
        '"action": "BUY", "order_type": "limit", "price": 9.1, "quantity": 200, "filled": 0, ' +
        '"remaining": 200, "state": "cancelled"}}',
      ok: true,
      error_kind: null,
    };
    expect(orderCallText(cancel)).toBe("cancelled limit BUY 200 SH600000");
    const cut = {
      name: "place_order",
      arguments: '{"symbol": "SH688008", "action": "sell", "quantity": 200, "order_type": "stop_loss", "price": 137}',
      result: '{"status": "working", "order": {"order_id"…[cut: 3000 characters]',
      ok: true,
      error_kind: null,
    };
    expect(orderCallText(cut)).toBe("placed stop_loss SELL 200 SH688008 @ 137.00");
    expect(orderCallText({ ...cut, ok: false })).toBeNull();
    expect(orderCallText({ ...cut, name: "get_orders" })).toBeNull();
  });

  it("shows it in the arena's feed", async () => {
    mockApi({ ...ROUTES, "GET /api/arenas": { data: [] } });
    window.location.hash = "";
    render(<App />);
    const items = await screen.findAllByTestId("feed-item");
    const texts = items.map((i) => i.querySelector(".feed-what")?.textContent);
    expect(texts).toContain(
      "placed stop_loss SELL 700 SH600000 @ 9.00, placed take_profit SELL 700 SH600000 @ 10.00",
    );
  });
});
