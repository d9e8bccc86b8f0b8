/**
 * The webdcp side of the region-read memory benchmark: opens a checkpoint and reads one box of one tensor
 * (mode `region`), or only opens it (mode `open`, the baseline whose peak RSS is subtracted).
 *
 * usage: deno run -A bench/workers/read_region.ts CKPT_DIR open|region FQN ROW_START ROWS
 * Prints one JSON line: seconds, bytes (of the region), rss and external-memory deltas across the read.
 */
import { openDcp } from "../../src/dcp/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { sampledChecksum } from "../lib/checksum.ts";

const [dir, mode, fqn, rowStart, rows] = Deno.args;
const ckpt = await openDcp(new FileStorage(dir), "");
const entry = ckpt.entries().find((e) => e.name === fqn);
if (entry?.kind !== "tensor") throw new Error(`no tensor '${fqn}' in ${dir}`);
const box = {
  offsets: entry.shape.map((_, d) => (d === 0 ? Number(rowStart) : 0)),
  sizes: entry.shape.map((s, d) => (d === 0 ? Number(rows) : s)),
};

const before = Deno.memoryUsage();
const start = performance.now();
const region = mode === "region" ? await ckpt.readTensor(fqn, box) : undefined;
const seconds = (performance.now() - start) / 1000;
const after = Deno.memoryUsage();
await ckpt.close();

console.log(JSON.stringify({
  mode,
  seconds,
  bytes: region?.data.byteLength ?? 0,
  box,
  rss_delta_bytes: after.rss - before.rss,
  external_delta_bytes: after.external - before.external,
  heap_delta_bytes: after.heapUsed - before.heapUsed,
  checksum: region ? sampledChecksum(region.data) : 0,
}));
