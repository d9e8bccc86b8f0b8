/** Where the benchmark's programs live: the venv's python, this Deno, the checkpoints under bench/data. */
export function python(): string {
  const py = Deno.env.get("PYTHON");
  if (py) return py;
  const venv = new Deno.Command("bash", { args: ["test/interop/venv.sh"], stderr: "inherit" }).outputSync();
  if (!venv.success) throw new Error("test/interop/venv.sh failed");
  return `${new TextDecoder().decode(venv.stdout).trim()}/bin/python`;
}

export const DENO = Deno.execPath();

export const DATA_DIR = "bench/data";

/**
 * `deno` arguments that run the CLI from its sources exactly as `deno task webdcp` does (deno.json): for a bench
 * that runs another checkout's CLI beside this one (seed.bench.ts `--before`); the others time `WEBDCP`.
 */
export const WEBDCP_DENO_ARGS = [
  "run",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-net",
  "--allow-sys",
  "--allow-ffi",
  "src/cli/main.ts",
];

/**
 * The installed command, as `npx webdcp` runs it: bin/webdcp, which runs the bundled dist/cli under Deno (the
 * permissions of `deno task webdcp`). The command issue #15 times; `buildInstalledCli()` first.
 */
export const WEBDCP = ["bin/webdcp"];

/** Rebuilds dist/ (scripts/build.sh) when any file under src/ is newer than the bundled CLI. */
export async function buildInstalledCli(): Promise<void> {
  const built = await Deno.stat("dist/cli/main.js").then((s) => s.mtime!.getTime(), () => 0);
  if (built >= await newestMtime("src")) return;
  const r = await new Deno.Command("bash", { args: ["scripts/build.sh"], stdout: "null", stderr: "inherit" }).output();
  if (!r.success) throw new Error("scripts/build.sh failed");
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    const t = e.isDirectory ? await newestMtime(path) : (await Deno.stat(path)).mtime!.getTime();
    newest = Math.max(newest, t);
  }
  return newest;
}

/** Reads every file of `dir` once so that both sides of a comparison start from the same warm page cache. */
export async function warmPageCache(dir: string): Promise<void> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) files.push(`${dir}/${e.name}`);
  const out = await new Deno.Command("cat", { args: files, stdout: "null" }).output();
  if (!out.success) throw new Error(`could not read ${dir}`);
}
