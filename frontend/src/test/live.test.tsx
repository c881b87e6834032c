import { act, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { LIVE_INTERVAL_MS } from "../lib/intervals";
import { PUSH_POLL_INTERVAL_MS } from "../live/useLive";
import { STREAM_RETRY_MS } from "../live/useLiveStream";
import arenas from "./fixtures/arenas.json";
import configs from "./fixtures/configs.json";
import jobs from "./fixtures/jobs.json";
import stats from "./fixtures/model_stats.json";
import pnl from "./fixtures/pnl_series_market.json";
import decisions from "./fixtures/recent_decisions.json";
import status from "./fixtures/status.json";
import { installFakeEventSource, lastSource } from "./fakeEventSource";
import { mockApi } from "./mockApi";

const ROUTES = {
  "GET /": status,
  "GET /api/arenas": arenas,
  "GET /api/live/model-stats": stats,
  "GET /api/live/pnl-series": pnl,
  "GET /api/live/recent-decisions": decisions,
};

afterEach(() => {
  vi.useRealTimers();
  window.history.replaceState(null, "", "/");
});

describe("live push (GET /api/live/stream)", () => {
  it("refetches the affected data right after a fill event, without waiting for a poll", async () => {
    installFakeEventSource();
    const api = mockApi(ROUTES);
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    const source = lastSource();
    expect(source.url.startsWith("/api/live/stream?")).toBe(true);
    expect(source.params.get("arena")).toBe("default_config");
    act(() => source.open());
    expect(await screen.findByTestId("push-state")).toHaveTextContent("live updates");
    await waitFor(() => expect(api.callsTo("GET /api/live/recent-decisions").length).toBeGreaterThan(0));
    const statsBefore = api.callsTo("GET /api/live/model-stats").length;
    const pnlBefore = api.callsTo("GET /api/live/pnl-series").length;
    const feedBefore = api.callsTo("GET /api/live/recent-decisions").length;
    act(() =>
      source.emit(
        "fill",
        { signature: "gpt-5", window_id: "2025-11-05T14:00", action: "BUY", symbol: "SH688981", amount: 100, price: 114.38 },
        "41",
      ),
    );
    // waitFor gives up after 1 s, far below the 10 s poll: only the event can have done this
    await waitFor(() => {
      expect(api.callsTo("GET /api/live/model-stats").length).toBeGreaterThan(statsBefore);
      expect(api.callsTo("GET /api/live/pnl-series").length).toBeGreaterThan(pnlBefore);
      expect(api.callsTo("GET /api/live/recent-decisions").length).toBeGreaterThan(feedBefore);
    });
    for (const c of api.callsTo("GET /api/live/model-stats")) {
      expect(c.url.searchParams.get("arena")).toBe("default_config");
    }
  });

  it("polls slowly while the stream is open and every 10 s once it failed", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    installFakeEventSource();
    const api = mockApi(ROUTES);
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    const source = lastSource();
    act(() => source.open());
    await screen.findByText("live updates");
    const pnlCalls = () => api.callsTo("GET /api/live/pnl-series").length;
    // the poll already scheduled before the stream opened still runs, then the slow interval
    await act(async () => {
      await vi.advanceTimersByTimeAsync(LIVE_INTERVAL_MS + 10);
    });
    const before = pnlCalls();
    await act(async () => {
      await vi.advanceTimersByTimeAsync(3 * LIVE_INTERVAL_MS);
    });
    expect(pnlCalls()).toBe(before);
    act(() => source.fail());
    expect(await screen.findByTestId("push-state")).toHaveTextContent("polling every 10 s");
    // the faster interval takes over at once, then every 10 s
    await waitFor(() => expect(pnlCalls()).toBe(before + 1));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(LIVE_INTERVAL_MS + 10);
    });
    expect(pnlCalls()).toBe(before + 2);
    expect(PUSH_POLL_INTERVAL_MS).toBeGreaterThan(2 * LIVE_INTERVAL_MS);
  });

  it("reopens a closed stream later, resuming after the last event id", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const ES = installFakeEventSource();
    mockApi(ROUTES);
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    const first = lastSource();
    act(() => {
      first.open();
      first.emit("window_end", { signature: "gpt-5", window_id: "2025-11-05T14:00" }, "57");
      first.fail();
    });
    expect(ES.instances).toHaveLength(1);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(STREAM_RETRY_MS + 10);
    });
    expect(ES.instances).toHaveLength(2);
    expect(lastSource().params.get("last_event_id")).toBe("57");
    expect(lastSource().params.get("arena")).toBe("default_config");
  });

  it("refetches the jobs after a job event", async () => {
    installFakeEventSource();
    const api = mockApi({
      ...ROUTES,
      "GET /api/configs": configs,
      "GET /api/jobs": jobs,
    });
    window.location.hash = "#/jobs";
    render(<App />);
    await waitFor(() => expect(api.callsTo("GET /api/jobs").length).toBeGreaterThan(0));
    const source = await waitFor(() => lastSource());
    act(() => source.open());
    const before = api.callsTo("GET /api/jobs").length;
    act(() => source.emit("job", { job_id: "a1", status: "completed", agents: [] }, "9"));
    await waitFor(() => expect(api.callsTo("GET /api/jobs").length).toBe(before + 1));
  });

  it("falls back to polling when the browser has no EventSource", async () => {
    vi.stubGlobal("EventSource", undefined);
    mockApi(ROUTES);
    render(<App />);
    await screen.findByRole("table", { name: "Leaderboard" });
    expect(screen.getByTestId("push-state")).toHaveTextContent("polling every 10 s");
  });
});
