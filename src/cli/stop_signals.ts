/**
 * The host's process (Node, and Deno 2's global): signals and exit, without importing `node:process`. Looked
 * up only once a command listens for signals: under Deno the global loads the Node compatibility layer.
 */
const hostProcess = () =>
  (globalThis as unknown as {
    process: { once(signal: string, listener: () => void): void; exit(code: number): never };
  }).process;

/** A stop signal that arrived: the exit code it asks for, and the cleanup that must end before the exit. */
interface Stopping {
  code: number;
  cleaned: Promise<unknown>;
}

let stopping: Stopping | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

/**
 * Runs `cleanup` when SIGTERM (Slurm's scancel, Kubernetes, a time limit) or SIGINT stops the command, and
 * makes the command exit as the signal asks (143 or 130) once every cleanup has ended, even when the work the
 * cleanup cut short failed first and the command would otherwise have exited 1.
 */
export function onStopSignal(cleanup: () => Promise<unknown>): void {
  if (cleanups.length === 0) {
    const process = hostProcess();
    for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
      process.once(signal, () => {
        if (stopping) return;
        const cleaned = Promise.allSettled(cleanups.map((c) => c()));
        stopping = { code, cleaned };
        void cleaned.then(() => process.exit(code));
      });
    }
  }
  cleanups.push(cleanup);
}

/** The exit code of a command that ran to `code`: a stop signal's, after its cleanup, when one arrived. */
export async function exitCodeAfter(code: number): Promise<number> {
  if (stopping === undefined) return code;
  await stopping.cleaned;
  return stopping.code;
}
