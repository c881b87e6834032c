import { useEffect } from "react";
import { type LiveApi, liveApi } from "../api/client";
import type { LiveEventType } from "../api/types";
import { type PollState, usePolling } from "../hooks/usePolling";
import { LIVE_INTERVAL_MS } from "../lib/intervals";
import { DATA_EVENTS, subscribe } from "./liveBus";
import { useLiveContext } from "./LiveContext";

/** While the event stream is open, polling only guards against a silently dead stream. */
export const PUSH_POLL_INTERVAL_MS = 60_000;
/** Several events of one window (fills, window_end, decision) lead to one refetch. */
export const COALESCE_MS = 150;

interface Options {
  keepPrevious?: boolean;
  intervalMs?: number;
  /** Stream events that make this data stale (default: fills, window ends, decisions, reset). */
  on?: readonly LiveEventType[];
}

/**
 * Live data of the current arena: refetched right after a matching stream event, and polled
 * (every `intervalMs` while the stream is down, every PUSH_POLL_INTERVAL_MS while it is up).
 * A null `name` disables it; the arena id is part of the cache key.
 */
export function useLive<T>(
  name: string | null,
  fetcher: (live: LiveApi, signal: AbortSignal) => Promise<T>,
  options: Options = {},
): PollState<T> {
  const { arena, ready, push } = useLiveContext();
  const key = name === null || !ready ? null : `${arena ?? ""}|${name}`;
  const base = options.intervalMs ?? LIVE_INTERVAL_MS;
  const interval = push === "push" ? Math.max(base, PUSH_POLL_INTERVAL_MS) : base;
  const state = usePolling(key, (signal) => fetcher(liveApi(arena), signal), interval, {
    keepPrevious: options.keepPrevious,
  });
  useLiveRefresh(state.refresh, options.on ?? DATA_EVENTS);
  // Until the arena is known the data is on its way, not absent.
  return key === null && name !== null ? { ...state, loading: true } : state;
}

/** Call `refresh` shortly after stream events of `types` (a burst leads to one call). */
export function useLiveRefresh(refresh: () => void, types: readonly LiveEventType[]): void {
  const { bus } = useLiveContext();
  const joined = types.join(",");
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = subscribe(bus, joined.split(",") as LiveEventType[], () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, COALESCE_MS);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [bus, refresh, joined]);
}
