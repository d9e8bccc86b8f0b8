/**
 * A built-in module of the host runtime (Node, or Deno's Node compatibility), found through
 * `process.getBuiltinModule` so that nothing is imported: modules that use one stay loadable in browsers
 * and bundlers see no Node built-in. `undefined` where there is none (a browser, Node before 20.16).
 */
export function hostModule<T>(id: `node:${string}`): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return (proc?.getBuiltinModule?.(id) ?? undefined) as T | undefined;
  } catch {
    return undefined;
  }
}
