/** What `orStall` resolves to when the read it watches gave nothing in time. */
export const STALLED: unique symbol = Symbol("stalled");

/**
 * `pending` (a stream read), or `STALLED` if it has not settled within `stallMs` (no limit when undefined).
 * The read itself goes on: the caller cancels its stream, which settles it.
 */
export function orStall<T>(pending: Promise<T>, stallMs: number | undefined): Promise<T | typeof STALLED> {
  if (stallMs === undefined) return pending;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<typeof STALLED>((resolve) => {
    timer = setTimeout(() => resolve(STALLED), stallMs);
  });
  return Promise.race([pending, stalled]).finally(() => clearTimeout(timer));
}
