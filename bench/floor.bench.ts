/**
 * DCP -> bfloat16 safetensors (or FORMAT: `dcp`, `torch`) against the machine's read + write floor, in the
 * same run (issue 15: within 1.25x, fsync and no-fsync each against its like): `webdcp convert` (the
 * installed command, bin/webdcp, rebuilt from this source first) against `cat` of the source files to /dev/null followed by `dd` of the
 * output's size from /dev/zero (with `conv=fsync` against the fsynced convert). Every contender once a round,
 * rounds interleaved, medians; the ratio is the median over rounds of the ratio within a round. The page cache
 * is warmed first, and each run starts after `settleMemory()`.
 * usage: deno run -A bench/floor.bench.ts [CKPT_DIR (default bench/data/pool-f32-1024m)] [ROUNDS (5)]
 *        [FORMAT (safetensors)]
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { buildInstalledCli, WEBDCP } from "./lib/env.ts";
import { recordSection } from "./lib/results.ts";
import { median } from "./lib/rounds.ts";
import { settleMemory } from "./lib/settle.ts";

const dir = Deno.args[0] ?? "bench/data/pool-f32-1024m";
const rounds = Number(Deno.args[1] ?? 5);
const format = Deno.args[2] ?? "safetensors";
const out = `${dir}.floor-out`;
/** The convert's destination: a folder (safetensors shards, DCP), or a file in the folder `out` (torch). */
const dst = format === "torch" ? `${out}/model.pt` : out;
const convertArgs = ["convert", dir, dst, "--to", format, "--dtype", "bfloat16"];
const FORMAT_NAMES: Record<string, string> = { safetensors: "safetensors", dcp: "DCP", torch: ".pt" };
if (!(format in FORMAT_NAMES)) throw new Error(`FORMAT must be one of ${Object.keys(FORMAT_NAMES).join(", ")}`);
const sources = readdirSync(dir).map((f) => `${dir}/${f}`);

async function run(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return (performance.now() - t0) / 1000;
}

await buildInstalledCli();
await run("cat", sources); // warm the page cache
rmSync(out, { recursive: true, force: true });
await run(WEBDCP[0], [...WEBDCP.slice(1), ...convertArgs, "--no-fsync"]);
const outBytes = readdirSync(out).reduce((n, f) => n + statSync(`${out}/${f}`).size, 0);
const inBytes = sources.reduce((n, f) => n + statSync(f).size, 0);
const mib = Math.ceil(outBytes / 2 ** 20);

const times: Record<string, number[]> = { webdcp: [], floor: [], webdcpSync: [], floorSync: [] };
const ratios: Record<string, number[]> = { nofsync: [], fsync: [] };
for (let r = 0; r < rounds; r++) {
  const t: Record<string, number> = {};
  for (
    const [name, sync] of (r % 2 ? [["floor", false], ["webdcp", false]] : [["webdcp", false], ["floor", false]])
      .concat([["webdcpSync", true], ["floorSync", true]]) as Array<[string, boolean]>
  ) {
    rmSync(out, { recursive: true, force: true });
    await settleMemory();
    if (name.startsWith("webdcp")) {
      const args = [...WEBDCP.slice(1), ...convertArgs];
      t[name] = await run(WEBDCP[0], sync ? args : [...args, "--no-fsync"]);
    } else {
      Deno.mkdirSync(out);
      const dd = [
        "if=/dev/zero",
        `of=${out}/floor.out`,
        "bs=1M",
        `count=${mib}`,
        ...(sync ? ["conv=fsync"] : []),
      ];
      t[name] = (await run("cat", sources)) + (await run("dd", dd));
    }
    times[name].push(t[name]);
  }
  ratios.nofsync.push(t.webdcp / t.floor);
  ratios.fsync.push(t.webdcpSync / t.floorSync);
}
rmSync(out, { recursive: true, force: true });
const row = (what: string, a: string, b: string, ratio: number[]) =>
  `| ${what} | ${median(times[a]).toFixed(2)} s | ${median(times[b]).toFixed(2)} s | ${median(ratio).toFixed(2)}x | ${
    median(ratio) <= 1.25 ? "yes" : "**no**"
  } |`;
const section = [
  `## convert against the read + write floor (${
    new Date().toISOString().slice(0, 16).replace("T", " ")
  } UTC, median of ${rounds})`,
  "",
  `${(inBytes / 2 ** 30).toFixed(2)} GiB float32 DCP (${dir}) -> ${(outBytes / 2 ** 30).toFixed(2)} GiB bf16 ${
    FORMAT_NAMES[format]
  }; ` +
  `Deno ${Deno.version.deno}; ${availableParallelism()} cores shared with other jobs, load average ` +
  `${loadavg().map((l) => l.toFixed(2)).join(" ")} at the end: indicative.`,
  "",
  `\`npx deno run -A bench/floor.bench.ts ${Deno.args.join(" ")}\``,
  "",
  "| job | webdcp | floor (cat sources + dd output size) | ratio | within 1.25x |",
  "| --- | --- | --- | --- | --- |",
  row(`DCP -> bf16 ${FORMAT_NAMES[format]}, --no-fsync`, "webdcp", "floor", ratios.nofsync),
  row(`DCP -> bf16 ${FORMAT_NAMES[format]}, fsync (dd conv=fsync)`, "webdcpSync", "floorSync", ratios.fsync),
  "",
].join("\n");
recordSection(section);
