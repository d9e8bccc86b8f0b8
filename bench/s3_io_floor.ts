/**
 * The S3 bench's I/O floor for `webdcp convert` bucket to bucket: the same bytes moved through webdcp's own S3
 * storage with no conversion. Every object of the source folder is read whole (all at once, in 4 MiB reads into
 * a reused buffer: S3Source's streamed windows, as the converter's reads go), while `BYTES` bytes are written to
 * the output key from a reused buffer (S3Sink's multipart upload, parts and parts in flight as the converter's).
 * What `webdcp convert` takes beyond this is the conversion (parsing, planning, casting, copying into parts).
 *
 * usage: deno run -A bench/s3_io_floor.ts s3://BUCKET/SOURCE_FOLDER s3://BUCKET/OUTPUT_KEY BYTES
 * (endpoint and credentials from the AWS environment, as the CLI takes them)
 */
import { readSourceInto, S3Storage } from "../src/storage/mod.ts";

const STEP = 4 << 20;

const [sourceUrl, outputUrl, bytesArg] = Deno.args;
const bytes = Number(bytesArg);
if (!sourceUrl?.startsWith("s3://") || !outputUrl?.startsWith("s3://") || !Number.isSafeInteger(bytes)) {
  console.error("usage: deno run -A bench/s3_io_floor.ts s3://BUCKET/SOURCE_FOLDER s3://BUCKET/OUTPUT_KEY BYTES");
  Deno.exit(2);
}
const source = S3Storage.fromUrl(sourceUrl);
const slash = outputUrl.lastIndexOf("/");
const output = S3Storage.fromUrl(outputUrl.slice(0, slash));
const outputName = outputUrl.slice(slash + 1);

const started = performance.now();
const names = ((await source.list("")) ?? []).filter((e) => e.kind === "file").map((e) => e.name);
const [read] = await Promise.all([Promise.all(names.map(readWhole)), write()]);
console.log(JSON.stringify({
  seconds: (performance.now() - started) / 1000,
  read: read.reduce((a, b) => a + b, 0),
  written: bytes,
}));

async function readWhole(name: string): Promise<number> {
  const src = await source.open(name);
  const buffer = new Uint8Array(Math.min(STEP, src.size));
  for (let at = 0; at < src.size; at += buffer.byteLength) {
    await readSourceInto(src, at, buffer.subarray(0, Math.min(buffer.byteLength, src.size - at)));
  }
  await src.close();
  return src.size;
}

async function write(): Promise<void> {
  const sink = await output.create(outputName);
  // Random bytes, which no store can compress (a converted checkpoint's are close to that; constant bytes were
  // not: SeaweedFS stored them for a fraction of the work).
  const buffer = new Uint8Array(STEP);
  for (let at = 0; at < STEP; at += 65536) crypto.getRandomValues(buffer.subarray(at, at + 65536));
  for (let at = 0; at < bytes; at += buffer.byteLength) {
    await sink.write(buffer.subarray(0, Math.min(buffer.byteLength, bytes - at)));
  }
  await sink.close();
}
