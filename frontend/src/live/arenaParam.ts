// The arena shown, kept in the page's query string (`/app/?arena=<id>#/agent/x`) so a link
// shows the same arena; changed with history.replaceState (no reload).
import { useSyncExternalStore } from "react";

const CHANGED = "arena:selected";

export function readArenaParam(): string | null {
  return new URLSearchParams(window.location.search).get("arena");
}

export function selectArena(id: string | null): void {
  const url = new URL(window.location.href);
  if (id) url.searchParams.set("arena", id);
  else url.searchParams.delete("arena");
  window.history.replaceState(window.history.state, "", url);
  window.dispatchEvent(new Event(CHANGED));
}

function subscribe(callback: () => void): () => void {
  window.addEventListener(CHANGED, callback);
  window.addEventListener("popstate", callback);
  return () => {
    window.removeEventListener(CHANGED, callback);
    window.removeEventListener("popstate", callback);
  };
}

export function useArenaParam(): string | null {
  return useSyncExternalStore(subscribe, readArenaParam);
}
