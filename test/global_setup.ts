import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";

/**
 * Makes sure the pinned Python peers (real torch, safetensors, torchtitan, transformers) exist, creating
 * the cached virtualenv on first use, and hands its interpreter to the tests (`inject("python")`).
 */
export default function setup(project: TestProject): void {
  const venv = execFileSync("bash", ["test/interop/venv.sh"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  })
    .trim();
  project.provide("python", `${venv}/bin/python`);
}

declare module "vitest" {
  export interface ProvidedContext {
    python: string;
  }
}
