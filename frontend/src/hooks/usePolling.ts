import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "../api/client";

export const MAX_BACKOFF_MS = 60_000;

/** Delay before the next poll: the interval while healthy, doubled per consecutive failure. */
export function nextDelay(intervalMs: number, failures: number): number {
  if (failures <= 0) return intervalMs;
  return Math.min(intervalMs * 2 ** failures, Math.max(MAX_BACKOFF_MS, intervalMs));
}

export interface PollState<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  /** When the last successful response arrived (ms since epoch). */
  updatedAt: number | null;
  failures: number;
  /** Milliseconds until the next attempt (for "retrying in …" messages). */
  retryInMs: number | null;
  refresh: () => void;
}

interface Snapshot<T> {
  key: string;
  data: T | null;
  error: ApiError | null;
  updatedAt: number | null;
  failures: number;
  retryInMs: number | null;
  settled: boolean;
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, err instanceof Error ? err.message : String(err));
}

/**
 * Poll `fetcher` every `intervalMs` while `key` stays the same (a new key starts over with no
 * data). Failures back off exponentially up to a minute; the last good data is kept meanwhile.
 * A null key disables polling. With `keepPrevious`, a new key shows the old data until it loads.
 */
export function usePolling<T>(
  key: string | null,
  fetcher: (signal: AbortSignal) => Promise<T>,
  intervalMs: number,
  options: { keepPrevious?: boolean } = {},
): PollState<T> {
  const fetcherRef = useRef(fetcher);
  const intervalRef = useRef(intervalMs);
  const kickRef = useRef<() => void>(() => undefined);
  const [snap, setSnap] = useState<Snapshot<T>>({
    key: "",
    data: null,
    error: null,
    updatedAt: null,
    failures: 0,
    retryInMs: null,
    settled: false,
  });

  useEffect(() => {
    fetcherRef.current = fetcher;
    const slower = intervalRef.current;
    intervalRef.current = intervalMs;
    // Switching to faster polling (e.g. a job just started): don't wait out the old delay.
    if (intervalMs < slower) kickRef.current();
  });

  useEffect(() => {
    if (key === null) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | null = null;
    let failures = 0;
    let stopped = false;

    const schedule = (delay: number) => {
      if (stopped) return;
      timer = setTimeout(run, delay);
    };

    async function run() {
      if (stopped) return;
      clearTimeout(timer);
      controller?.abort();
      const own = new AbortController();
      controller = own;
      try {
        const data = await fetcherRef.current(own.signal);
        if (stopped || own.signal.aborted) return;
        failures = 0;
        setSnap({
          key: key as string,
          data,
          error: null,
          updatedAt: Date.now(),
          failures: 0,
          retryInMs: null,
          settled: true,
        });
        schedule(intervalRef.current);
      } catch (err) {
        if (stopped || own.signal.aborted) return;
        const error = toApiError(err);
        failures += 1;
        // Client errors (404, 422) will not fix themselves quickly: still retry, but slowly.
        const delay = nextDelay(intervalRef.current, error.transient ? failures : failures + 2);
        setSnap((prev) => ({
          key: key as string,
          data: prev.key === key ? prev.data : null,
          error,
          updatedAt: prev.key === key ? prev.updatedAt : null,
          failures,
          retryInMs: delay,
          settled: true,
        }));
        schedule(delay);
      }
    }

    kickRef.current = () => {
      failures = 0;
      void run();
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
      kickRef.current = () => undefined;
    };
  }, [key]);

  const refresh = useCallback(() => kickRef.current(), []);
  const current = snap.key === key;
  // keepPrevious: while a new key loads, keep showing the old key's data (e.g. "load more").
  const carried = !current && options.keepPrevious === true && key !== null;
  return {
    data: current || carried ? snap.data : null,
    error: current ? snap.error : null,
    loading: key !== null && (!current || !snap.settled),
    updatedAt: current ? snap.updatedAt : null,
    failures: current ? snap.failures : 0,
    retryInMs: current ? snap.retryInMs : null,
    refresh,
  };
}
