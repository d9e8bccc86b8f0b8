import type { JobProgress } from "../tasks/mod.ts";

/** Human-readable byte counts in binary units (`1.5 GiB`). */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, "0");
  const ss = String(sec).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** One line of progress: bar, bytes done of total, rate and ETA, fitted into `columns`. */
export function renderProgressLine(p: JobProgress, elapsedSeconds: number, columns: number): string {
  const total = Math.max(p.bytesTotal, 0);
  const frac = total > 0 ? Math.min(p.bytesDone / total, 1) : 1;
  const rate = elapsedSeconds > 0 ? p.bytesDone / elapsedSeconds : 0;
  const eta = rate > 0 ? (total - p.bytesDone) / rate : Number.NaN;
  const text = ` ${(frac * 100).toFixed(1).padStart(5)}% ${formatBytes(p.bytesDone)}/${formatBytes(total)} ` +
    `${formatBytes(Math.round(rate))}/s ETA ${formatDuration(eta)}`;
  const width = Math.max(10, Math.min(40, columns - text.length - 3));
  const filled = Math.round(frac * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]${text}`;
}

/**
 * Draws progress on a terminal, redrawing at most every `intervalMs`. Inactive (every call a no-op) when
 * the stream is not a terminal or the user asked for quiet output.
 */
export class ProgressBar {
  private started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly active: boolean,
    private readonly columns = 80,
    private readonly intervalMs = 100,
  ) {}

  update = (p: JobProgress): void => {
    if (!this.active) return;
    const now = Date.now();
    if (now - this.lastDraw < this.intervalMs && p.bytesDone < p.bytesTotal) return;
    this.lastDraw = now;
    this.drawn = true;
    this.write(`\r${renderProgressLine(p, (now - this.started) / 1000, this.columns)}`);
  };

  /** Ends the line so that later output starts on a fresh one. */
  finish(): void {
    if (this.active && this.drawn) this.write("\n");
    this.drawn = false;
  }
}
