/** The data file rank `rank` writes, as PyTorch's `FileSystemWriter` names it: `__<rank>_0.distcp`. */
export function rankFileName(rank: number): string {
  return `__${rank}_0.distcp`;
}

/** The writing rank of a DCP data file name (`__<rank>_<n>.distcp`), or undefined for any other name. */
export function rankOfFileName(name: string): number | undefined {
  const m = /^__(\d+)_\d+\.distcp$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
