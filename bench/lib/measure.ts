/**
 * Runs one benchmark process under `/usr/bin/time -v` (Debian package `time`) and returns its peak RSS,
 * its wall time and the JSON line it printed last. Every side of every comparison goes through here, so
 * both are measured the same way: a fresh process, its own peak memory.
 */
export interface Measured {
  /** Wall time of the whole process (start-up included). */
  wallSeconds: number;
  peakRssBytes: number;
  /** CPU time of the process and its threads, in user space and in the kernel. */
  userSeconds: number;
  systemSeconds: number;
  /** What the process printed as JSON (see `parseReport`). */
  report: Record<string, unknown>;
}

export async function measure(
  cmd: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Measured> {
  const timeFile = await Deno.makeTempFile({ prefix: "webdcp-bench-time-" });
  try {
    const out = await new Deno.Command("/usr/bin/time", {
      args: ["-v", "-o", timeFile, ...cmd],
      cwd: opts.cwd,
      env: opts.env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      const stderr = new TextDecoder().decode(out.stderr);
      throw new Error(`'${cmd.join(" ")}' failed (exit ${out.code}):\n${stderr.slice(-4000)}${stdout.slice(-2000)}`);
    }
    const stats = parseTimeV(await Deno.readTextFile(timeFile));
    return { ...stats, report: parseReport(stdout) };
  } finally {
    await Deno.remove(timeFile).catch(() => {});
  }
}

/** The whole stdout when it is one JSON document (the CLI's `--json`), else its last JSON line, else `{}`. */
function parseReport(stdout: string): Record<string, unknown> {
  const text = stdout.trim();
  try {
    return JSON.parse(text);
  } catch {
    const last = text.split("\n").filter((l) => l.startsWith("{")).pop();
    return last ? JSON.parse(last) : {};
  }
}

/** Peak RSS, wall and CPU time from `time -v`'s report ("Maximum resident set size (kbytes): N", "h:mm:ss"). */
export function parseTimeV(
  text: string,
): { wallSeconds: number; peakRssBytes: number; userSeconds: number; systemSeconds: number } {
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(text);
  const user = /User time \(seconds\): ([\d.]+)/.exec(text);
  const system = /System time \(seconds\): ([\d.]+)/.exec(text);
  if (!rss || !wall || !user || !system) throw new Error(`unexpected /usr/bin/time -v output:\n${text}`);
  const seconds = wall[1].split(":").reduce((acc, part) => acc * 60 + Number(part), 0);
  return {
    wallSeconds: seconds,
    peakRssBytes: Number(rss[1]) * 1024,
    userSeconds: Number(user[1]),
    systemSeconds: Number(system[1]),
  };
}

/** The runs of `cmd` with the least wall time: the least disturbed by other load on a shared machine. */
export async function bestOf(runs: number, cmd: () => string[], before?: () => Promise<void>): Promise<Measured> {
  let best: Measured | undefined;
  for (let i = 0; i < runs; i++) {
    await before?.();
    const m = await measure(cmd());
    if (!best || seconds(m) < seconds(best)) best = m;
  }
  return best!;
}

/** The time a process reports for its own work, falling back to its wall time. */
export function seconds(m: Measured): number {
  return typeof m.report.seconds === "number" ? m.report.seconds : m.wallSeconds;
}
