import { describe, expect, test } from "vitest";
import { parseArgs } from "../../src/cli/args.ts";
import { engineFromArgs } from "../../src/cli/commands/shared.ts";

/** The engine a command line gets, created (by one small cast) so that its kind and pool are decided. */
async function decided(argv: string[], paths: string[]) {
  const engine = engineFromArgs(parseArgs(argv, { values: ["engine"] }), paths);
  await engine.convert(new Uint8Array(4), "float32", "bfloat16");
  return engine;
}

describe("engineFromArgs()", () => {
  test("a job on an s3:// or http(s):// path casts on the calling thread, with no worker pool", async () => {
    for (const paths of [["s3://bucket/ckpt", "out"], ["ckpt", "s3://bucket/out"], ["https://host/ckpt", "o"]]) {
      const engine = await decided(["--engine", "cpu"], paths);
      expect(engine.kind).toBe("cpu");
      expect(engine.buffer!(1024)!.buffer).not.toBeInstanceOf(SharedArrayBuffer);
      engine.dispose();
    }
  });

  test("a job on local paths keeps the worker pool that casts shared bands", async () => {
    const engine = await decided(["--engine", "cpu"], ["ckpt", "out"]);
    expect(engine.buffer!(1024)!.buffer).toBeInstanceOf(SharedArrayBuffer);
    engine.dispose();
  });
});
