// In-page fan-out of the server's live events (GET /api/live/stream) to the views' data hooks.
import type { LiveEventType } from "../api/types";

export interface LiveEventDetail {
  type: LiveEventType;
  data: unknown;
}

export const LIVE_EVENT = "arena:live";

/** Event types that change the live records (stats, series, positions, trades, decisions). */
export const DATA_EVENTS: readonly LiveEventType[] = ["fill", "window_end", "decision", "reset"];

export function createLiveBus(): EventTarget {
  return new EventTarget();
}

export function publish(bus: EventTarget, detail: LiveEventDetail): void {
  bus.dispatchEvent(new CustomEvent<LiveEventDetail>(LIVE_EVENT, { detail }));
}

/** Call `onEvent` for every published event whose type is in `types`; returns the unsubscribe. */
export function subscribe(
  bus: EventTarget,
  types: readonly LiveEventType[],
  onEvent: (detail: LiveEventDetail) => void,
): () => void {
  const listener = (e: Event) => {
    const detail = (e as CustomEvent<LiveEventDetail>).detail;
    if (types.includes(detail.type)) onEvent(detail);
  };
  bus.addEventListener(LIVE_EVENT, listener);
  return () => bus.removeEventListener(LIVE_EVENT, listener);
}
