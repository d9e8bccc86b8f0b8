import { WorkerError } from "../../errors/mod.ts";
import { hostModule } from "../../tasks/mod.ts";
/**
 * One worker thread behind one interface: a web `Worker` where the runtime has one (Deno, browsers), else
 * Node's `worker_threads`. The code runs from source text (a blob URL or `eval`), so it needs no file of
 * its own next to a bundle.
 */
export interface WorkerThread {
  post(message: unknown): void;
  /** Keeps the process alive while jobs run (Node); an idle Node worker never holds the process open. */
  hold(busy: boolean): void;
  terminate(): Promise<void>;
}

export interface WorkerEvents {
  message(data: unknown): void;
  /** The thread failed outside any job's handler, or ended. */
  failure(error: unknown): void;
}

/**
 * Starts a worker running `webSource` (a module reading `self.onmessage`) or, under Node, `nodeSource` (a
 * CommonJS script reading `require("node:worker_threads").parentPort`).
 */
export async function startWorker(webSource: string, nodeSource: string, events: WorkerEvents): Promise<WorkerThread> {
  const WebWorker = (globalThis as { Worker?: typeof Worker }).Worker;
  if (WebWorker !== undefined) {
    const url = URL.createObjectURL(new Blob([webSource], { type: "text/javascript" }));
    const worker = new WebWorker(url, { type: "module" });
    URL.revokeObjectURL(url);
    worker.onmessage = (e) => events.message(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      events.failure(e.error ?? new Error(e.message));
    };
    worker.onmessageerror = () => events.failure(new Error("a message from the worker could not be read"));
    return {
      post: (m) => worker.postMessage(m),
      hold: () => {},
      terminate: () => Promise.resolve(worker.terminate()),
    };
  }
  const threads = hostModule<{ Worker: NodeWorkerClass }>("node:worker_threads");
  if (threads === undefined) throw new WorkerError("E_WORKER", "this runtime has neither Worker nor worker_threads");
  const NodeWorker = threads.Worker;
  const worker = new NodeWorker(nodeSource, { eval: true });
  worker.unref();
  worker.on("message", (m) => events.message(m));
  worker.on("error", (e) => events.failure(e));
  worker.on("exit", (code) => events.failure(new Error(`the worker exited (code ${code})`)));
  return {
    post: (m) => worker.postMessage(m),
    hold: (busy) => busy ? worker.ref() : worker.unref(),
    terminate: async () => {
      worker.removeAllListeners("exit");
      await worker.terminate();
    },
  };
}

/** What this file uses of Node's `worker_threads.Worker` (declared here: the module is never imported). */
type NodeWorkerClass = new (source: string, options: { eval: true }) => {
  postMessage(message: unknown): void;
  on(event: "message" | "error" | "exit", listener: (value: never) => void): void;
  ref(): void;
  unref(): void;
  removeAllListeners(event: "exit"): void;
  terminate(): Promise<number>;
};
