import { unrefTimer } from "../tasks/mod.ts";

/** What `StallWatch.read` resolves to when the read it watches gave nothing in time. */
export const STALLED: unique symbol = Symbol("stalled");

/**
 * Watches the reads of one stream, one after another, for a read that gives nothing within `stallMs` (no limit
 * when undefined). One timer serves all of them: it is set when a read begins and none is set, and when it
 * fires it gives up the read in progress if that one is `stallMs` old, else is set again for the rest of its
 * time. A timer set and cleared for every read cost a bucket-to-bucket convert 4% of its time (thousands of
 * reads; bench/RESULTS.md, round fifteen). The timer never keeps the process alive; `stop()` ends it.
 */
export class StallWatch {
  readonly #stallMs: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The read in progress: when it began, and how it ends as stalled. */
  #read: { since: number; stall: () => void } | undefined;

  constructor(stallMs: number | undefined) {
    this.#stallMs = stallMs;
  }

  /** `pending` (a read of the watched stream), or `STALLED` once it has given nothing for `stallMs`. */
  read<T>(pending: Promise<T>): Promise<T | typeof STALLED> {
    const stallMs = this.#stallMs;
    if (stallMs === undefined) return pending;
    return new Promise((resolve, reject) => {
      const read = { since: performance.now(), stall: () => resolve(STALLED) };
      this.#read = read;
      const done = () => {
        if (this.#read === read) this.#read = undefined;
      };
      pending.then((value) => (done(), resolve(value)), (error) => (done(), reject(error)));
      this.#timer ??= this.#set(stallMs);
    });
  }

  /** Ends the timer: the stream is done. A read still in progress is no longer watched. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#read = undefined;
  }

  #set(ms: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => this.#fire(), ms);
    unrefTimer(timer);
    return timer;
  }

  #fire(): void {
    this.#timer = undefined;
    const read = this.#read;
    if (read === undefined) return; // between reads: the next one sets the timer again
    const left = read.since + this.#stallMs! - performance.now();
    if (left > 0) {
      this.#timer = this.#set(left);
      return;
    }
    this.#read = undefined;
    read.stall();
  }
}
