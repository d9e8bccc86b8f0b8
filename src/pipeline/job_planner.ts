import { invariant, InvariantError } from "../errors/mod.ts";
import { EventLoopTurns } from "../tasks/mod.ts";
import type { BandJob } from "./band_pipeline.ts";

/** A promise with its settling functions (`Promise.withResolvers`, which Node 20 lacks). */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/**
 * Planning time between turns of the event loop: short enough that replies wait little, long enough that the
 * turns of thousands of small tensors (25 us each) cost next to nothing.
 */
const TURN_EVERY_MS = 1;

/**
 * Plans the jobs of a writer's tensors one after the other in the writer's order, handing each tensor's
 * jobs on (`onPlanned`) as soon as they are planned, so the writer starts on the first tensor while later
 * ones are planned. Every millisecond or so it lets the event loop run: planning reads synchronously where
 * it can, so without a turn of the loop the replies of the work already handed out would wait for the whole
 * plan.
 * After a failure nothing more is planned, and that tensor's jobs and those of every later one reject with
 * the error (the writer meets it when it gets there).
 */
export class JobPlanner<T> {
  readonly #planned = new Map<T, Promise<BandJob[]>>();
  readonly #done: Promise<void>;
  #stopped = false;

  constructor(items: readonly T[], plan: (item: T) => Promise<BandJob[]>, onPlanned: (jobs: BandJob[]) => void) {
    const settle = items.map((item) => {
      const d = deferred<BandJob[]>();
      d.promise.catch(() => {}); // a writer that failed first never asks
      this.#planned.set(item, d.promise);
      return d;
    });
    this.#done = (async () => {
      let i = 0;
      const loop = new EventLoopTurns(TURN_EVERY_MS, "channel");
      try {
        for (; i < items.length && !this.#stopped; i++) {
          const jobs = await plan(items[i]);
          onPlanned(jobs);
          settle[i].resolve(jobs);
          const turn = loop.maybeTurn();
          if (turn) await turn;
        }
      } catch (error) {
        for (; i < items.length; i++) settle[i].reject(error);
      } finally {
        loop.close();
      }
      for (; i < items.length; i++) settle[i].reject(new InvariantError("jobs asked for after their planner stopped"));
    })();
  }

  /** The jobs of `item`, once planned. */
  jobsOf(item: T): Promise<BandJob[]> {
    const jobs = this.#planned.get(item);
    invariant(jobs !== undefined, "jobs asked for of an item the planner was not given");
    return jobs;
  }

  /** Plans nothing more; resolves once no planning runs (the source can then be closed). */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.#done;
  }
}
