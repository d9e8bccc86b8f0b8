/** Whether a command-line path is a URL (`s3://`, `http(s)://`; see locate_remote.ts) rather than a local path. */
export function isRemote(path: string): boolean {
  return /^(s3|https?):\/\//i.test(path);
}
