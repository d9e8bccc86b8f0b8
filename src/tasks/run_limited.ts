/**
 * Runs `tasks` with at most `limit` in flight and returns their results in order. After a failure no new task
 * starts, and the first error is thrown only once the tasks already running have settled, so a caller's
 * cleanup never races a write still in progress.
 */
export async function runLimited<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < tasks.length && failure === undefined) {
      const i = next++;
      try {
        results[i] = await tasks[i]();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}
