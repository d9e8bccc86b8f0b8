/**
 * A schema kept in a module constant, built on its first use: building zod schemas at load time (and with
 * them zod's own first-use set-up) cost every CLI start that loads the module milliseconds, whether or not
 * the command parses anything. `z.lazy` does not help there: it is a zod schema itself.
 */
export function lazySchema<T>(build: () => T): () => T {
  let schema: T | undefined;
  return () => schema ??= build();
}
