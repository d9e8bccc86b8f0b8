/**
 * A state webdcp's own logic rules out has happened: a bug in webdcp, never bad input (bad input is a
 * `WebdcpError` with a code). Not a `WebdcpError`, so nothing mistakes it for one to handle.
 */
export class InvariantError extends Error {
  /** The error's name. */
  override name = "InvariantError";
}

/** Asserts a state the surrounding code guarantees (`cond` holds), with why it must hold as `message`. */
export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new InvariantError(`invariant broken: ${message}`);
}
