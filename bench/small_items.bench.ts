/**
 * Per-item overhead: a DCP of many small tensors (BENCH_ITEMS, default 3000, 4..116 rows of 16..112
 * columns, float32 and bfloat16, 4 ranks, written by webdcp) resharded 4 -> 3 and converted to bfloat16
 * safetensors by the CLI (`deno task webdcp`, --no-fsync), BENCH_ROUNDS rounds (default 3), medians of wall
 * and CPU time (user + system of the whole process tree). Run it at two commits to compare; with
 * `strace -f -c` around one CLI call it also counts the system calls per item.
 * Deno: npx deno run -A bench/small_items.bench.ts     (appends a section to bench/RESULTS.md)
 */
import { existsSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { saveStateDict } from "../src/dcp/mod.ts";
import { FileStorage } from "../src/storage/file/mod.ts";
import { makeTensor } from "../src/tensor/mod.ts";
import { recordSection } from "./lib/results.ts";
import { median } from "./lib/rounds.ts";

const items = Number(Deno.env.get("BENCH_ITEMS") ?? 3000);
const rounds = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const root = new URL("data/", import.meta.url).pathname;
const name = `small-items-${items}`;

if (!existsSync(`${root}${name}/.metadata`)) {
  const sd = new Map();
  let x = 1;
  for (let i = 0; i < items; i++) {
    const t = makeTensor(i % 3 === 0 ? "bfloat16" : "float32", [4 + (i % 29) * 4, 16 * (1 + (i % 7))]);
    const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    for (let k = 0; k < b.length; k++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      b[k] = x >>> 24;
    }
    sd.set(`layers.${Math.floor(i / 10)}.p${i % 10}.weight`, t);
  }
  await saveStateDict(new FileStorage(root), name, sd, { ranks: 4 });
}

const jobs: Record<string, string[]> = {
  "reshard 4 -> 3": ["reshard", `${root}${name}`, `${root}${name}.out`, "--ranks", "3", "--no-fsync"],
  "convert -> bf16 safetensors": [
    "convert",
    `${root}${name}`,
    `${root}${name}.out`,
    "--to",
    "safetensors",
    "--dtype",
    "bfloat16",
    "--no-fsync",
  ],
};
const rows: string[] = [];
for (const [job, args] of Object.entries(jobs)) {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    rmSync(`${root}${name}.out`, { recursive: true, force: true });
    const out = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%e %U %S", Deno.execPath(), "task", "-q", "webdcp", ...args],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`${job} failed: ${new TextDecoder().decode(out.stderr)}`);
    const [e, u, s] = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)!.split(" ").map(Number);
    wall.push(e);
    cpu.push(u + s);
  }
  rows.push(
    `| ${job} | ${median(wall).toFixed(2)} s | ${median(cpu).toFixed(2)} s | ${
      (median(cpu) / items * 1000).toFixed(2)
    } ms |`,
  );
}
rmSync(`${root}${name}.out`, { recursive: true, force: true });
const section = [
  `## many small items (${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, median of ${rounds})`,
  "",
  `${items} tensors (4 ranks) by the CLI, --no-fsync; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}` +
  " at the end: indicative.",
  "",
  "`npx deno run -A bench/small_items.bench.ts`",
  "",
  "| job | wall | CPU time | CPU per item |",
  "| --- | --- | --- | --- |",
  ...rows,
  "",
].join("\n");
recordSection(section);
