import { useSyncExternalStore } from "react";

export type Route =
  | { view: "arena" }
  | { view: "agent"; signature: string | null; decision?: string | null }
  | { view: "positions" }
  | { view: "trades" }
  | { view: "experiments"; name: string | null }
  | { view: "stock"; symbol: string | null }
  | { view: "jobs"; jobId: string | null };

/** Parse "#/agent/gpt-5" style hashes. Unknown paths fall back to the arena. */
export function parseHash(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter(Boolean)
    .map((p) => decodeURIComponent(p));
  const [head, arg, sub] = parts;
  switch (head) {
    case "agent":
      return sub
        ? { view: "agent", signature: arg ?? null, decision: sub }
        : { view: "agent", signature: arg ?? null };
    case "positions":
      return { view: "positions" };
    case "trades":
      return { view: "trades" };
    case "experiments":
      return { view: "experiments", name: arg ?? null };
    case "stock":
      return { view: "stock", symbol: arg ?? null };
    case "jobs":
      return { view: "jobs", jobId: arg ?? null };
    default:
      return { view: "arena" };
  }
}

export function hrefFor(route: Route): string {
  switch (route.view) {
    case "arena":
      return "#/";
    case "agent": {
      if (!route.signature) return "#/agent";
      const agent = `#/agent/${encodeURIComponent(route.signature)}`;
      return route.decision ? `${agent}/${encodeURIComponent(route.decision)}` : agent;
    }
    case "positions":
      return "#/positions";
    case "trades":
      return "#/trades";
    case "experiments":
      return route.name ? `#/experiments/${encodeURIComponent(route.name)}` : "#/experiments";
    case "stock":
      return route.symbol ? `#/stock/${encodeURIComponent(route.symbol)}` : "#/stock";
    case "jobs":
      return route.jobId ? `#/jobs/${encodeURIComponent(route.jobId)}` : "#/jobs";
  }
}

export function navigate(route: Route): void {
  window.location.hash = hrefFor(route);
}

function subscribe(callback: () => void): () => void {
  window.addEventListener("hashchange", callback);
  return () => window.removeEventListener("hashchange", callback);
}

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => window.location.hash);
}
