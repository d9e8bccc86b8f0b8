/// <reference lib="deno.ns" />
// What the Deno tests of local files share: assertions, a temp folder, and the pinned Python interpreter.

export function assert(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

export function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert(
    actual.byteLength === expected.byteLength,
    `${what}: ${actual.byteLength} bytes, expected ${expected.byteLength}`,
  );
  const at = actual.findIndex((b, i) => b !== expected[i]);
  assert(at < 0, `${what}: first difference at byte ${at}`);
}

/** Runs `fn` in a new temp folder (under `base` if given), removed afterwards. */
export async function withDir<T>(fn: (dir: string) => Promise<T>, base?: string): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "webdcp-test-", dir: base });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs a script of test/convert/py (or `-c code`) with the pinned interpreter; its stdout. */
export async function python(script: string, ...args: string[]): Promise<string> {
  const venv = new TextDecoder().decode(
    (await new Deno.Command("bash", { args: ["test/interop/venv.sh"], stderr: "inherit" }).output()).stdout,
  ).trim();
  const out = await new Deno.Command(`${venv}/bin/python`, {
    args: script === "-c" ? [script, ...args] : [`test/convert/py/${script}`, ...args],
    env: { OMP_NUM_THREADS: "1" },
  }).output();
  assert(out.success, `${script} failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  return new TextDecoder().decode(out.stdout);
}
