/**
 * A pause before each measured run, so that every contender starts from the same memory: this VM's balloon
 * (virtio free page reporting) hands pages that stayed free for ~2 s back to the host, after which each
 * fresh page-cache page costs a host fault (bench/RESULTS.md, "why the no-fsync floor ratios swing"). A
 * run that starts right after the previous one's output was deleted would get those pages still backed,
 * which favours whichever run comes first, or is fastest; after the pause, every run pays the same.
 */
export const SETTLE_MS = 4000;

export function settleMemory(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}
