import { useEffect, useState } from "react";
import { liveApi } from "../api/client";
import type { LiveEventType } from "../api/types";
import { publish } from "./liveBus";

/** "push": the event stream is open; "polling": it failed (or the browser has none). */
export type PushState = "connecting" | "push" | "polling";

const STREAM_EVENTS: readonly LiveEventType[] = ["fill", "window_end", "decision", "job", "reset"];
/** After the server closed or refused the stream, try it again this much later. */
export const STREAM_RETRY_MS = 30_000;
const CLOSED = 2; // EventSource.CLOSED

function parse(text: unknown): unknown {
  if (typeof text !== "string") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Open GET /api/live/stream for `arena` while `enabled`, and publish each event on `bus`.
 * The browser reconnects by itself (sending Last-Event-ID); when the stream is closed for good
 * (an old server without it answers 404) it is reopened after STREAM_RETRY_MS with
 * `last_event_id`. Meanwhile the views poll as before.
 */
export function useLiveStream(arena: string | null, enabled: boolean, bus: EventTarget): PushState {
  const key = `${arena ?? ""}|${enabled}`;
  const [snap, setSnap] = useState<{ key: string; state: PushState }>({ key: "", state: "connecting" });
  const supported = typeof EventSource !== "undefined";

  useEffect(() => {
    if (!enabled || !supported) return undefined;
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let lastId: string | null = null;
    const set = (state: PushState) => setSnap({ key, state });

    const open = () => {
      const es = new EventSource(liveApi(arena).streamUrl(lastId));
      source = es;
      es.onopen = () => set("push");
      for (const type of STREAM_EVENTS) {
        es.addEventListener(type, (e) => {
          const message = e as MessageEvent<unknown>;
          if (message.lastEventId) lastId = message.lastEventId;
          publish(bus, { type, data: parse(message.data) });
        });
      }
      es.onerror = () => {
        set("polling");
        if (es.readyState === CLOSED) {
          es.close();
          retry = setTimeout(open, STREAM_RETRY_MS);
        }
      };
    };
    open();
    return () => {
      clearTimeout(retry);
      source?.close();
    };
  }, [arena, enabled, supported, bus, key]);

  if (!supported) return "polling";
  return snap.key === key ? snap.state : "connecting";
}
