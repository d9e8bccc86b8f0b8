/** What every job reports while it moves bytes. */
export interface JobProgress {
  /** Bytes of tensor/value data handled so far. */
  bytesDone: number;
  /** Bytes the job will handle in all. */
  bytesTotal: number;
  /** Entry or file being worked on, when one is. */
  current?: string;
  /** Output files finished / planned. */
  filesDone?: number;
  /** Files the job writes or reads in all, where known. */
  filesTotal?: number;
}

/** Receives a job's progress. */
export type ProgressCallback = (p: JobProgress) => void;

/** Accumulates progress from work that may run concurrently and reports the running totals. */
export class ProgressTracker {
  private done = 0;
  private files = 0;

  /** A tracker of `total` bytes over `filesTotal` files, reporting to `onProgress`. */
  constructor(
    private readonly total: number,
    private readonly filesTotal: number,
    private readonly onProgress?: ProgressCallback,
  ) {}

  /** Counts bytes done, `current` naming what is being worked on. */
  add(bytes: number, current?: string): void {
    this.done += bytes;
    this.#report(current);
  }

  /** Counts a file done. */
  fileDone(current?: string): void {
    this.files++;
    this.#report(current);
  }

  #report(current?: string): void {
    this.onProgress?.({
      bytesDone: this.done,
      bytesTotal: this.total,
      current,
      filesDone: this.files,
      filesTotal: this.filesTotal,
    });
  }
}
