import { defineConfig } from "vitest/config";

// Browser end-to-end tests: a real API server on a data root filled by a short real replay,
// driven in Debian's headless Chromium through playwright-core (see e2e/globalSetup.ts).
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["./e2e/globalSetup.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    reporters: ["default"],
  },
});
