/**
 * How the cost of one conversion grows with the checkpoint (issue 15: time linear, memory flat): the same
 * DCP -> bfloat16 safetensors conversion, `--no-fsync`, by the installed command (bin/webdcp, which runs the
 * bundled dist/cli/main.js: run scripts/build.sh first) on each checkpoint given, with the machine's floor
 * (`cat` of the sources + `dd` of the output's size) beside it. Every size once a round, rounds interleaved,
 * medians; wall time, CPU time (user + system) and peak RSS from GNU time -v. The page cache is warmed first.
 * usage: deno run -A bench/scale.bench.ts CKPT_DIR... [--rounds N (3)]
 * (bench/py/make_checkpoint.py builds checkpoints: OUT_DIR SIZE_MIB)
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { parseTimeV } from "./lib/measure.ts";
import { recordSection } from "./lib/results.ts";
import { median } from "./lib/rounds.ts";

const args = [...Deno.args];
const at = args.indexOf("--rounds");
const rounds = at === -1 ? 3 : Number(args.splice(at, 2)[1]);
const dirs = args;
if (dirs.length === 0) throw new Error("usage: deno run -A bench/scale.bench.ts CKPT_DIR... [--rounds N]");

interface Run {
  wall: number;
  cpu: number;
  rss: number;
}

/** One process under /usr/bin/time -v: wall and CPU seconds, peak RSS in bytes. */
async function timed(cmd: string[]): Promise<Run> {
  const file = await Deno.makeTempFile({ prefix: "webdcp-scale-" });
  try {
    const r = await new Deno.Command("/usr/bin/time", {
      args: ["-v", "-o", file, ...cmd],
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!r.success) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(r.stderr).slice(-2000)}`);
    const text = await Deno.readTextFile(file);
    const { wallSeconds, peakRssBytes } = parseTimeV(text);
    const user = Number(/User time \(seconds\): ([\d.]+)/.exec(text)![1]);
    const system = Number(/System time \(seconds\): ([\d.]+)/.exec(text)![1]);
    return { wall: wallSeconds, cpu: user + system, rss: peakRssBytes };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

const bytesOf = (dir: string) => readdirSync(dir).reduce((n, f) => n + statSync(`${dir}/${f}`).size, 0);
const sources = (dir: string) => readdirSync(dir).map((f) => `${dir}/${f}`);
const outOf = (dir: string) => `${dir}.scale-out`;

async function convert(dir: string): Promise<Run> {
  rmSync(outOf(dir), { recursive: true, force: true });
  return await timed([
    "bin/webdcp",
    "convert",
    dir,
    outOf(dir),
    "--to",
    "safetensors",
    "--dtype",
    "bfloat16",
    "--no-fsync",
  ]);
}

async function floor(dir: string, outBytes: number): Promise<Run> {
  rmSync(outOf(dir), { recursive: true, force: true });
  Deno.mkdirSync(outOf(dir));
  const cat = await timed(["sh", "-c", `cat "$@" > /dev/null`, "cat", ...sources(dir)]);
  const mib = Math.ceil(outBytes / 2 ** 20);
  const dd = await timed(["dd", "if=/dev/zero", `of=${outOf(dir)}/model.safetensors`, "bs=1M", `count=${mib}`]);
  return { wall: cat.wall + dd.wall, cpu: cat.cpu + dd.cpu, rss: Math.max(cat.rss, dd.rss) };
}

const inBytes = new Map(dirs.map((d) => [d, bytesOf(d)]));
const outBytes = new Map<string, number>();
for (const d of dirs) {
  await timed(["sh", "-c", `cat "$@" > /dev/null`, "cat", ...sources(d)]); // warm the page cache
  await convert(d);
  outBytes.set(d, bytesOf(outOf(d)));
}
const ours = new Map<string, Run[]>(dirs.map((d) => [d, []]));
const floors = new Map<string, Run[]>(dirs.map((d) => [d, []]));
for (let r = 0; r < rounds; r++) {
  for (const d of r % 2 ? [...dirs].reverse() : dirs) {
    ours.get(d)!.push(await convert(d));
    floors.get(d)!.push(await floor(d, outBytes.get(d)!));
  }
}
for (const d of dirs) rmSync(outOf(d), { recursive: true, force: true });

const gib = (b: number) => b / 2 ** 30;
const mib = (b: number) => b / 2 ** 20;
const rows = dirs.map((d) => {
  const o = ours.get(d)!, f = floors.get(d)!;
  const wall = median(o.map((x) => x.wall));
  return [
    `${gib(inBytes.get(d)!).toFixed(2)} GiB -> ${gib(outBytes.get(d)!).toFixed(2)} GiB`,
    `${wall.toFixed(2)} s`,
    `${(wall / gib(inBytes.get(d)!)).toFixed(2)} s`,
    `${median(o.map((x) => x.cpu)).toFixed(2)} s`,
    `${mib(median(o.map((x) => x.rss))).toFixed(0)} MiB (max ${mib(Math.max(...o.map((x) => x.rss))).toFixed(0)})`,
    `${median(f.map((x) => x.wall)).toFixed(2)} s`,
    `${median(o.map((x, k) => x.wall / f[k].wall)).toFixed(2)}x`,
  ];
});
const header = [
  "checkpoint (float32 DCP, 4 ranks -> bf16)",
  "wall",
  "wall per GiB of input",
  "CPU time",
  "peak RSS",
  "floor (cat + dd)",
  "ratio to floor",
];
const table = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
const section = [
  `## how cost grows with size (${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, median of ${rounds})`,
  "",
  `bin/webdcp convert (dist/cli under Deno ${Deno.version.deno}), --no-fsync, warm page cache; sizes interleaved ` +
  `each round; ${availableParallelism()} cores shared with other jobs, load average ` +
  `${loadavg().map((l) => l.toFixed(2)).join(" ")} at the end: indicative.`,
  "",
  `\`npx deno run -A bench/scale.bench.ts ${dirs.join(" ")} --rounds ${rounds}\``,
  "",
  table,
  "",
].join("\n");
recordSection(section);
