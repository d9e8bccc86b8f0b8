/**
 * The webdcp side of the full-read benchmark: every tensor of a DCP checkpoint read into buffers allocated
 * before the clock starts, as `dcp.load` fills preallocated tensors: `readTensor(fqn, undefined, buffer)`
 * reads each saved chunk straight into its place where it is one run of the tensor (dim-0 shards are).
 *
 * usage: deno run -A bench/workers/read_all.ts CKPT_DIR
 * Prints one JSON line: seconds (the reads only), bytes, tensors, checksum (see lib/checksum.ts).
 */
import { type DcpEntry, openDcp } from "../../src/dcp/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { byteSize, type TensorEntry } from "../../src/tensor/mod.ts";
import { sampledChecksum } from "../lib/checksum.ts";

const [dir] = Deno.args;
const ckpt = await openDcp(new FileStorage(dir), "");
const tensors = ckpt.entries().filter((e): e is DcpEntry & TensorEntry => e.kind === "tensor");
const buffers = new Map(tensors.map((e) => [e.name, new Uint8Array(byteSize(e.dtype, e.shape))]));

const start = performance.now();
for (const e of tensors) await ckpt.readTensor(e.name, undefined, buffers.get(e.name)!);
const seconds = (performance.now() - start) / 1000;
await ckpt.close();

let bytes = 0;
let checksum = 0;
for (const b of buffers.values()) {
  bytes += b.byteLength;
  checksum += sampledChecksum(b);
}
console.log(JSON.stringify({ seconds, bytes, tensors: tensors.length, checksum }));
