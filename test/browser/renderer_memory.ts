import { readdirSync, readFileSync } from "node:fs";

/**
 * Resident memory of the Chromium renderer processes launched with a given profile folder, read from
 * /proc: what a page holds in host memory (JS heap, ArrayBuffers, fetch bodies), apart from the GPU
 * process's own buffers. Linux only; returns undefined elsewhere.
 */
export function rendererRssBytes(profileDir: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  const info = new Map<number, { ppid: number; cmd: string; rss: number }>();
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      // Field 24 of stat (index 21 after the command) is the resident set in pages.
      info.set(Number(pid), { ppid: Number(fields[1]), cmd, rss: Number(fields[21]) * 4096 });
    } catch {
      // The process ended while we looked.
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 10; hops++) {
      const i = info.get(p);
      if (i === undefined) return false;
      if (i.cmd.includes(profileDir) && !i.cmd.includes("--type=")) return true;
      p = i.ppid;
    }
    return false;
  };
  let total = 0;
  for (const [pid, i] of info) if (i.cmd.includes("--type=renderer") && ours(pid)) total += i.rss;
  return total;
}

/** Samples `rendererRssBytes` every `everyMs` until stopped; gives the samples with their times. */
export function sampleRendererRss(profileDir: string, everyMs = 25): () => { at: number; rss: number }[] {
  const samples: { at: number; rss: number }[] = [];
  const tick = () => {
    const rss = rendererRssBytes(profileDir);
    if (rss !== undefined) samples.push({ at: Date.now(), rss });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return () => {
    clearInterval(timer);
    tick();
    return samples;
  };
}
