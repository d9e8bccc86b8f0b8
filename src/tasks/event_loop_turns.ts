/**
 * Turns of the event loop for long work on the calling thread, so that finished I/O, worker replies and the
 * program's own tasks run while it goes on. Two ways to turn, as the work needs:
 * - `channel`: a message through a message channel, the quickest (a nested `setTimeout(0)` waits 1-4 ms:
 *   Deno took 430 ms for 200 of those, 5 ms through a channel), but Deno runs no timer while such turns go
 *   on;
 * - `timer`: `setTimeout(0)`, slower, and fair to every other task, timers included: for work that runs
 *   beside a program's own.
 * `close()` when done: an open channel keeps a process alive.
 */
export class EventLoopTurns {
  readonly #channel: MessageChannel | undefined;
  #resume: (() => void) | undefined;
  readonly #everyMs: number;
  #since = performance.now();
  #stopped = false;

  /** `everyMs`: the work `maybeTurn()` lets pass between turns. */
  constructor(everyMs: number, via: "channel" | "timer") {
    this.#everyMs = everyMs;
    if (via === "timer") return;
    this.#channel = new MessageChannel();
    this.#channel.port1.onmessage = () => this.#resume?.();
  }

  /** One turn of the event loop. */
  turn(): Promise<void> {
    return new Promise<void>((resolve) => {
      const resume = () => {
        this.#since = performance.now();
        resolve();
      };
      if (this.#channel === undefined) {
        setTimeout(resume, 0);
        return;
      }
      this.#resume = resume;
      this.#channel.port2.postMessage(null);
    });
  }

  /** A turn once `everyMs` passed since the last one (unless stopped); else nothing to wait for. */
  maybeTurn(): Promise<void> | undefined {
    return this.#stopped || performance.now() - this.#since < this.#everyMs ? undefined : this.turn();
  }

  /** No more turns from `maybeTurn()`: the rest of the work runs at once. */
  stop(): void {
    this.#stopped = true;
  }

  close(): void {
    this.#channel?.port1.close();
    this.#channel?.port2.close();
  }
}
