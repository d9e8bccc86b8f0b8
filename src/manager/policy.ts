/** When TorchTitan saves, and how its step folders are named. */
import type { CheckpointConfig } from "./config.ts";

/**
 * TorchTitan's `_should_save`: never when load-only; step 1 when `enable_first_step_checkpoint`; the last
 * step; every `interval` steps.
 */
export function shouldSave(c: CheckpointConfig, step: number, last: boolean): boolean {
  if (!c.enable || c.load_only) return false;
  if (step === 1 && c.enable_first_step_checkpoint) return true;
  if (last) return true;
  return step % c.interval === 0;
}

export function stepDir(step: number): string {
  return `step-${step}`;
}

/** The step of a folder name, as TorchTitan matches it (`step-(\d+)` anywhere in the name). */
export function parseStepDir(name: string): number | undefined {
  const m = /step-(\d+)/.exec(name);
  return m ? Number(m[1]) : undefined;
}
