import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/deno/**", "test/browser/**", "node_modules/**"],
    globalSetup: ["test/global_setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
