/**
 * `keep_latest_k`: removing older step folders in the background after each save. TorchTitan deletes all
 * but the k highest-numbered step folders, finished or not, so a crashed run's half-written folders can push
 * out its last good checkpoint. Here the newest complete step and any step still being written are never
 * removed, whatever k says.
 */
import type { Storage } from "../storage/mod.ts";
import { listSteps, newestComplete } from "./steps.ts";

export class Purger {
  #chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: Storage,
    private readonly keep: number,
    private readonly warn: (message: string) => void,
    /** The steps whose saves are in flight when a purge runs. */
    private readonly writing: () => ReadonlySet<number>,
  ) {}

  /** Queues a purge. */
  schedule(): void {
    if (this.keep <= 0) return;
    this.#chain = this.#chain.then(() => this.#run()).catch((e) => this.warn(`purge failed: ${(e as Error).message}`));
  }

  /** Resolves when every queued purge has run. */
  settled(): Promise<void> {
    return this.#chain;
  }

  async #run(): Promise<void> {
    const writing = this.writing();
    const steps = await listSteps(this.storage);
    if (!steps) return;
    const keepNewest = newestComplete(steps);
    for (const s of steps.slice(0, Math.max(0, steps.length - this.keep))) {
      if (writing.has(s.step) || s === keepNewest) continue;
      // One failed removal (a transient storage error) must not stop later purges.
      await this.storage.remove(s.name, { recursive: true }).catch((e) =>
        this.warn(`could not remove ${s.name}: ${(e as Error).message}`)
      );
    }
  }
}
