/// <reference lib="deno.ns" />
// Thread priority exists only under Deno (FFI, Linux): lowerThreadPriority on the calling thread alone, and
// the seed's generator threads lowered while the main thread keeps its own.
import { lowerThreadPriority } from "../../src/tasks/mod.ts";
import { createSeedCheckpoint } from "../../src/manager/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";

function assert(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

/** The nice value in a thread's `stat` text (field 19, counted after the command's parentheses). */
function niceIn(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

/** The nice value of a thread of this process. */
function niceOf(statPath: string): number {
  return niceIn(Deno.readTextFileSync(statPath));
}

/** The nice values of this process's threads, by thread id. */
function threadNiceness(): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of Deno.readDirSync("/proc/self/task")) out.set(e.name, niceOf(`/proc/self/task/${e.name}/stat`));
  return out;
}

const linux = Deno.build.os === "linux";

Deno.test({
  name: "lowerThreadPriority() lowers the calling thread only, from its source text in a worker",
  ignore: !linux,
  fn: async () => {
    const before = niceOf("/proc/thread-self/stat");
    // The function's source alone, as pool workers get it.
    const source = `const lower = ${lowerThreadPriority};
const done = lower(7);
postMessage({ done, stat: Deno.readTextFileSync("/proc/thread-self/stat") });`;
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const worker = new Worker(url, { type: "module" });
    try {
      const reply = await new Promise<{ done: boolean; stat: string }>((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(new Error(e.message));
      });
      const workerNice = niceIn(reply.stat);
      assert(reply.done, "lowerThreadPriority() reported no effect under Deno on Linux with --allow-ffi");
      const expected = Math.min(19, before + 7);
      assert(workerNice === expected, `the worker's thread has nice ${workerNice}, expected ${expected}`);
      assert(niceOf("/proc/thread-self/stat") === before, "the calling test's own thread was lowered too");
    } finally {
      worker.terminate();
      URL.revokeObjectURL(url);
    }
  },
});

Deno.test({
  name: "a seed checkpoint's generator threads run at niceness 10 while the writing thread keeps its own",
  ignore: !linux,
  fn: async () => {
    const main = niceOf("/proc/thread-self/stat");
    const generators = Math.min(19, main + 10);
    // The most threads at that niceness seen at any band: the second worker may still be starting at the first.
    let lowered = 0;
    await createSeedCheckpoint(new MemoryStorage(), {
      model: "llama3",
      flavor: "debugmodel",
      workers: 2,
      onProgress: () => {
        lowered = Math.max(lowered, [...threadNiceness().values()].filter((n) => n === generators).length);
      },
    });
    assert(lowered >= 2, `threads at niceness ${generators} during the seed: ${lowered}, expected the 2 generators`);
    assert(niceOf("/proc/thread-self/stat") === main, "the writing thread was lowered");
  },
});
