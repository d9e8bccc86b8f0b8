/**
 * Plumbing every job shares: `runLimited` (a bounded number of tasks at once, settling in-flight work
 * before failing) and `ProgressTracker` (`onProgress` reports).
 *
 * @example
 * ```ts
 * import { runLimited } from "./mod.ts";
 *
 * const squares = await runLimited([1, 2, 3].map((n) => () => Promise.resolve(n * n)), 2);
 * if (squares.join() !== "1,4,9") throw new Error("results come back in task order");
 * ```
 * @module
 */
export { runLimited } from "./run_limited.ts";
export { type JobProgress, type ProgressCallback, ProgressTracker } from "./progress.ts";
export { EventLoopTurns } from "./event_loop_turns.ts";
export { hostModule } from "./host_module.ts";
export { nativeCopy } from "./native_copy.ts";
export { lowerThreadPriority } from "./thread_priority.ts";
export { unrefTimer } from "./unref_timer.ts";
export { type Libc, libc, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_WRONLY } from "./libc.ts";
