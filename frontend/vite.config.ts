import react from "@vitejs/plugin-react";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

/** Drop the WOFF fallbacks of the shipped CJK font (every browser we support reads WOFF2). */
export function woff2Only(): Plugin {
  return {
    name: "arena-woff2-only",
    enforce: "pre",
    transform(code, id) {
      if (!id.includes("@fontsource/") || !id.endsWith(".css")) return null;
      return code.replace(/,\s*url\([^)]*\.woff\) format\(['"]woff['"]\)/g, "");
    },
  };
}

// The built dashboard is served by api_server.py under /app/; `npm run dev` serves it on :5173
// and forwards API calls to the server on :8000 (override with ARENA_API_URL).
const apiTarget = process.env.ARENA_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/app/",
  plugins: [react(), woff2Only()],
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": { target: apiTarget, changeOrigin: true },
      // GET / is the API's health check; a browser asking for a page gets the dashboard.
      "^/$": {
        target: apiTarget,
        changeOrigin: true,
        bypass: (req) => (req.headers.accept?.includes("text/html") ? "/app/" : undefined),
      },
    },
  },
  build: {
    outDir: "dist",
    sourcemap: true,
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
