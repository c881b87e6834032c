import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from "react";
import { api } from "../api/client";
import type { ArenaInfo } from "../api/types";
import { usePolling } from "../hooks/usePolling";
import { STATIC_INTERVAL_MS } from "../lib/intervals";
import { useArenaParam } from "./arenaParam";
import { createLiveBus, subscribe } from "./liveBus";
import { type PushState, useLiveStream } from "./useLiveStream";

export interface LiveContextValue {
  /** The arena shown (null: the server's default; servers without /api/arenas). */
  arena: string | null;
  /** False until the arena list answered (or failed): live data waits for the arena. */
  ready: boolean;
  arenas: ArenaInfo[];
  current: ArenaInfo | null;
  push: PushState;
  bus: EventTarget;
  refreshArenas: () => void;
}

const ARENA_EVENTS = ["window_end", "job", "reset"] as const;
const fallbackBus = createLiveBus();

const LiveContext = createContext<LiveContextValue>({
  arena: null,
  ready: true,
  arenas: [],
  current: null,
  push: "polling",
  bus: fallbackBus,
  refreshArenas: () => undefined,
});

export function useLiveContext(): LiveContextValue {
  return useContext(LiveContext);
}

/** Resolves the arena (query string, else the server's default), opens its event stream. */
export function LiveProvider({ children }: { children: ReactNode }) {
  const chosen = useArenaParam();
  const list = usePolling("arenas", (signal) => api.arenas(signal), STATIC_INTERVAL_MS);
  const [bus] = useState(createLiveBus);
  const listed = list.data?.arenas ?? null;
  const fallback = listed?.find((a) => a.default) ?? listed?.[0] ?? null;
  const arena = chosen ?? fallback?.id ?? null;
  const ready = chosen !== null || list.data !== null || list.error !== null;
  const push = useLiveStream(arena, ready, bus);
  const { refresh } = list;
  // A window closed or a job changed: last_window / running_job of the arenas moved on.
  useEffect(() => subscribe(bus, ARENA_EVENTS, refresh), [bus, refresh]);
  const value = useMemo<LiveContextValue>(
    () => ({
      arena,
      ready,
      arenas: listed ?? [],
      current: listed?.find((a) => a.id === arena) ?? null,
      push,
      bus,
      refreshArenas: refresh,
    }),
    [arena, ready, listed, push, bus, refresh],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}
