/**
 * The webdcp side of the full-read benchmark: every tensor of a DCP checkpoint read into buffers allocated
 * before the clock starts, chunk by chunk (as `dcp.load` does: read an item, copy it into its place).
 *
 * usage: deno run -A bench/workers/read_all.ts CKPT_DIR
 * Prints one JSON line: seconds (the reads only), bytes, tensors, checksum (see lib/checksum.ts).
 */
import { openDcp } from "../../src/dcp/mod.ts";
import { itemsize } from "../../src/dtype/mod.ts";
import { FileStorage } from "../../src/storage/mod.ts";
import { byteSize, copyBox, wholeBox } from "../../src/tensor/mod.ts";
import { sampledChecksum } from "../lib/checksum.ts";

const [dir] = Deno.args;
const ckpt = await openDcp(new FileStorage(dir), "");
const tensors = ckpt.entries().filter((e) => e.kind === "tensor");
const buffers = new Map(tensors.map((e) => [e.fqn, new Uint8Array(byteSize(e.dtype!, e.shape!))]));

// One chunk is read ahead while the previous one is copied into place: the read runs in the runtime's I/O
// threads, the copy on the main thread, so the two overlap.
const jobs = tensors.flatMap((e) => e.chunks!.map((box, i) => ({ e, i, box })));
const start = performance.now();
let next = jobs.length > 0 ? ckpt.readChunk(jobs[0].e.fqn, 0) : undefined;
for (let j = 0; j < jobs.length; j++) {
  const { e, box } = jobs[j];
  const chunk = await next!;
  next = j + 1 < jobs.length ? ckpt.readChunk(jobs[j + 1].e.fqn, jobs[j + 1].i) : undefined;
  copyBox(chunk.data, box, buffers.get(e.fqn)!, wholeBox(e.shape!), box, itemsize(e.dtype!));
}
const seconds = (performance.now() - start) / 1000;
await ckpt.close();

let bytes = 0;
let checksum = 0;
for (const b of buffers.values()) {
  bytes += b.byteLength;
  checksum += sampledChecksum(b);
}
console.log(JSON.stringify({ seconds, bytes, tensors: tensors.length, checksum }));
