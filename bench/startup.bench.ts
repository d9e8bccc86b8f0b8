/**
 * Start-up of the installed command (issue 15: `inspect` and `--help` in tens of milliseconds, inspect under
 * 50 ms), against Deno's own floor: `deno run` of an empty file with the permissions bin/webdcp passes.
 * The command runs from an installed layout built here (a temporary node_modules with webdcp linked to this
 * checkout's bin/ and dist/, and the deno npm package beside it, as `npm install webdcp deno` lays them
 * out), so bin/webdcp finds Deno as an installed user's does; run scripts/build.sh first. Every row once a
 * round, rounds interleaved (BENCH_ROUNDS, default 15), medians of wall time and of CPU time (user +
 * system of the process and its children, to the microsecond): on a shared machine the CPU time is the
 * steadier figure.
 * usage: deno run -A bench/startup.bench.ts [DCP_DIR (default bench/data/llama-2048m)]
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { recordSection } from "./lib/results.ts";
import { median } from "./lib/rounds.ts";

const root = resolve(new URL("..", import.meta.url).pathname);
const dcp = resolve(Deno.args[0] ?? join(root, "bench/data/llama-2048m"));
const rounds = Number(Deno.env.get("BENCH_ROUNDS") ?? 15);

// bin/webdcp looks for the deno npm package beside the webdcp package; node_modules/.bin/deno is its launcher.
const denoPackage = dirname(realpathSync(join(root, "node_modules/.bin/deno")));
const denoBinary = join(denoPackage, "deno");
const install = mkdtempSync(join(tmpdir(), "webdcp-startup-"));
const modules = join(install, "node_modules");
mkdirSync(join(modules, ".bin"), { recursive: true });
symlinkSync(root, join(modules, "webdcp"));
symlinkSync(denoPackage, join(modules, "deno"));
symlinkSync("../webdcp/bin/webdcp", join(modules, ".bin/webdcp"));
const webdcp = join(modules, ".bin/webdcp");
const empty = join(install, "empty.js");
writeFileSync(empty, "");
// bin/webdcp's flags: no config, lock file, npm or remote lookups.
const runFlags = ["--no-config", "--no-lock", "--no-npm", "--no-remote", "--no-prompt"];
const permissions = ["--allow-read", "--allow-write", "--allow-env", "--allow-net", "--allow-sys", "--allow-ffi"];

const rows: Array<[string, string[]]> = [
  ["deno run of an empty file (the floor)", [denoBinary, "run", ...runFlags, ...permissions, empty]],
  ["webdcp --help", [webdcp, "--help"]],
  ["webdcp inspect --help", [webdcp, "inspect", "--help"]],
  [`webdcp inspect (${dcp.split("/").pop()}, 4-rank DCP)`, [webdcp, "inspect", dcp]],
];

// One long-lived python3 runs every command (its getrusage gives each child's CPU time to the microsecond;
// the first child of a fresh python3 is charged some 60 ms more, so one warm-up round runs first).
const RUNNER = `import json, resource, subprocess, sys, time
rows, rounds = json.loads(sys.argv[1]), int(sys.argv[2])
wall, cpu = [[] for _ in rows], [[] for _ in rows]
def run(cmd):
    u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    w = time.perf_counter() - t
    u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode:
        sys.exit(" ".join(cmd) + ": " + r.stderr.decode()[-2000:])
    return w, u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime
for cmd in rows:
    run(cmd)
for _ in range(rounds):
    for k, cmd in enumerate(rows):
        w, c = run(cmd)
        wall[k].append(w)
        cpu[k].append(c)
print(json.dumps({"wall": wall, "cpu": cpu}))`;

let wall: number[][];
let cpu: number[][];
try {
  const r = await new Deno.Command("python3", {
    args: ["-c", RUNNER, JSON.stringify(rows.map(([, cmd]) => cmd)), String(rounds)],
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
  ({ wall, cpu } = JSON.parse(new TextDecoder().decode(r.stdout)));
} finally {
  rmSync(install, { recursive: true, force: true });
}

const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
const floorCpu = median(cpu[0]);
const table = [
  "| command | wall (median, best) | CPU time (median) | CPU above the floor |",
  "| --- | --- | --- | --- |",
  ...rows.map(([what], k) =>
    `| ${what} | ${ms(median(wall[k]))} (${ms(Math.min(...wall[k]))}) | ${ms(median(cpu[k]))} | ${
      k === 0 ? "-" : `+${ms(median(cpu[k]) - floorCpu)}`
    } |`
  ),
].join("\n");
const section = [
  `## start-up of the installed command (${
    new Date().toISOString().slice(0, 16).replace("T", " ")
  } UTC, median of ${rounds})`,
  "",
  `node_modules/.bin/webdcp (bin/webdcp -> dist/cli/main.js) under Deno ${Deno.version.deno}, warm code and page ` +
  `caches; ${availableParallelism()} cores shared with other jobs, load average ` +
  `${loadavg().map((l) => l.toFixed(2)).join(" ")} at the end: wall times are indicative, CPU times steadier.`,
  "",
  "`npx deno run -A bench/startup.bench.ts`",
  "",
  table,
  "",
].join("\n");
recordSection(section);
