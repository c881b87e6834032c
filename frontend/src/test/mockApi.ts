// Test-only fetch stub serving recorded API responses (fixtures/*.json) by method and path.
import { vi } from "vitest";

export type Handler = (url: URL, init: RequestInit | undefined) => unknown;
export interface Reply {
  status: number;
  body: unknown;
}

export function reply(status: number, body: unknown): Reply {
  return { status, body };
}

export interface MockApi {
  calls: { method: string; url: URL; body: unknown }[];
  set: (route: string, handler: Handler | unknown) => void;
  callsTo: (route: string) => { method: string; url: URL; body: unknown }[];
}

/** Stub global fetch. Routes are "GET /api/jobs" style keys; a value or a handler per route. */
export function mockApi(routes: Record<string, Handler | unknown>): MockApi {
  const table = new Map(Object.entries(routes));
  const calls: MockApi["calls"] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://localhost");
    const method = (init?.method ?? "GET").toUpperCase();
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    calls.push({ method, url, body });
    const key = `${method} ${url.pathname}`;
    if (!table.has(key)) {
      return new Response(JSON.stringify({ detail: `no fixture for ${key}` }), { status: 404 });
    }
    const entry = table.get(key);
    const value = await (typeof entry === "function" ? (entry as Handler)(url, init) : entry);
    if (value instanceof Error) throw new TypeError("Failed to fetch");
    const { status, body: payload } =
      value && typeof value === "object" && "status" in value && "body" in value
        ? (value as Reply)
        : { status: 200, body: value };
    return new Response(JSON.stringify(payload), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return {
    calls,
    set: (route, handler) => table.set(route, handler),
    callsTo: (route) => {
      const [method, path] = route.split(" ");
      return calls.filter((c) => c.method === method && c.url.pathname === path);
    },
  };
}
