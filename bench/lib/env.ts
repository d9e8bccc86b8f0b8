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

/** `deno` arguments that run the CLI exactly as `deno task webdcp` does (deno.json): the CLI users' figures. */
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

/** Reads every file of `dir` once so that both sides of a comparison start from the same warm page cache. */
export async function warmPageCache(dir: string): Promise<void> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) files.push(`${dir}/${e.name}`);
  const out = await new Deno.Command("cat", { args: files, stdout: "null" }).output();
  if (!out.success) throw new Error(`could not read ${dir}`);
}
