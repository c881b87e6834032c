import type { ReactNode } from "react";
import type { PollState } from "../hooks/usePolling";

interface Props<T> {
  state: PollState<T>;
  /** What the thing is ("leaderboard", "positions"), for the messages. */
  what: string;
  isEmpty?: (data: T) => boolean;
  emptyText?: ReactNode;
  children: (data: T) => ReactNode;
}

/** Loading / error / empty / data, each shown as such. Keeps stale data visible under an error. */
export function StatusBlock<T>({ state, what, isEmpty, emptyText, children }: Props<T>) {
  const { data, error, loading } = state;
  const banner = error ? <ErrorBanner state={state} what={what} /> : null;
  if (data === null) {
    if (banner) return banner;
    if (loading)
      return (
        <div className="state state-loading" role="status">
          Loading {what}…
        </div>
      );
    return null;
  }
  if (isEmpty?.(data)) {
    return (
      <>
        {banner}
        <div className="state state-empty">{emptyText ?? `No ${what} yet.`}</div>
      </>
    );
  }
  return (
    <>
      {banner}
      {children(data)}
    </>
  );
}

export function ErrorBanner<T>({ state, what }: { state: PollState<T>; what: string }) {
  const { error, retryInMs, data, refresh } = state;
  if (!error) return null;
  const stale = data !== null ? " Showing the last data received." : "";
  const retry = retryInMs !== null ? ` Retrying in ${Math.round(retryInMs / 1000)} s.` : "";
  return (
    <div className="state state-error" role="alert">
      <span>
        Could not load {what}: {error.detail}.{stale}
        {retry}
      </span>
      <button type="button" className="btn btn-small" onClick={refresh}>
        Retry now
      </button>
    </div>
  );
}
