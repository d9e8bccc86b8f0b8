/**
 * Lets a pending timer not keep the process alive (Node's `unref`, Deno's `Deno.unrefTimer`; browsers and
 * workers keep no process alive for a timer, so there is nothing to do): for watchdogs and idle timers, which
 * must never be why a finished job does not exit.
 */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  const deno = (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno;
  if (typeof timer === "number") deno?.unrefTimer(timer);
  else (timer as { unref?: () => void }).unref?.();
}
