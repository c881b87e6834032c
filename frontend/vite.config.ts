import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The built dashboard is served by api_server.py under /app/; `npm run dev` serves it on :5173
// and forwards API calls to the server on :8000 (override with ARENA_API_URL).
const apiTarget = process.env.ARENA_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/app/",
  plugins: [react()],
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
