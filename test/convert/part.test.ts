import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { finalize, reshard, verify } from "../../src/jobs/mod.ts";
import { dimSplitLayout } from "../../src/dcp/mod.ts";
import { partFromEnv } from "../../src/cli/part_auto.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { makeTensor } from "../../src/tensor/mod.ts";
import { assignFiles, ownedFiles } from "../../src/writers/part.ts";
import { UsageError } from "../../src/errors/mod.ts";

function usage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("no usage error");
}

describe("partFromEnv() (--part auto)", () => {
  test("a Slurm array task takes its index from SLURM_ARRAY_TASK_ID and the count from SLURM_ARRAY_TASK_COUNT", () => {
    expect(partFromEnv({ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "4" })).toEqual({ index: 2, count: 4 });
  });

  test("a Slurm array that does not start at 0, or steps, is numbered from MIN in steps of STEP", () => {
    const env = { SLURM_ARRAY_TASK_ID: "7", SLURM_ARRAY_TASK_MIN: "5", SLURM_ARRAY_TASK_MAX: "8" };
    expect(partFromEnv(env)).toEqual({ index: 2, count: 4 });
    const stepped = {
      SLURM_ARRAY_TASK_ID: "12",
      SLURM_ARRAY_TASK_MIN: "0",
      SLURM_ARRAY_TASK_MAX: "12",
      SLURM_ARRAY_TASK_STEP: "4",
    };
    expect(partFromEnv({ ...stepped, SLURM_ARRAY_TASK_COUNT: "4" })).toEqual({ index: 3, count: 4 });
  });

  test("a Slurm array of scattered ids (--array=0,3,7) is refused: COUNT disagrees with MIN..MAX", () => {
    const env = {
      SLURM_ARRAY_TASK_ID: "3",
      SLURM_ARRAY_TASK_COUNT: "3",
      SLURM_ARRAY_TASK_MIN: "0",
      SLURM_ARRAY_TASK_MAX: "7",
    };
    expect(usage(() => partFromEnv(env))).toMatch(/SLURM_ARRAY_TASK_COUNT=3 but MIN\.\.MAX/);
  });

  test("with --parts W a Slurm array id is the part number, so one task rerun alone (--array=2) keeps its share", () => {
    const rerun = {
      SLURM_ARRAY_TASK_ID: "2",
      SLURM_ARRAY_TASK_COUNT: "1",
      SLURM_ARRAY_TASK_MIN: "2",
      SLURM_ARRAY_TASK_MAX: "2",
    };
    expect(partFromEnv(rerun, 4)).toEqual({ index: 2, count: 4 });
    expect(partFromEnv(rerun)).toEqual({ index: 0, count: 1 });
    expect(usage(() => partFromEnv({ ...rerun, SLURM_ARRAY_TASK_ID: "4" }, 4))).toMatch(
      /SLURM_ARRAY_TASK_ID=4 is not below --parts=4/,
    );
  });

  test("SLURM_ARRAY_TASK_ID alone names the variables that are missing", () => {
    expect(usage(() => partFromEnv({ SLURM_ARRAY_TASK_ID: "0" }))).toMatch(
      /SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN\/MAX/,
    );
  });

  test("a Kubernetes Indexed Job takes JOB_COMPLETION_INDEX and needs --parts", () => {
    expect(partFromEnv({ JOB_COMPLETION_INDEX: "3" }, 8)).toEqual({ index: 3, count: 8 });
    expect(usage(() => partFromEnv({ JOB_COMPLETION_INDEX: "3" }))).toMatch(/needs --parts W/);
    expect(usage(() => partFromEnv({ JOB_COMPLETION_INDEX: "8" }, 8))).toMatch(
      /JOB_COMPLETION_INDEX=8 is not below --parts=8/,
    );
  });

  test("torchrun takes RANK of WORLD_SIZE; one without the other is refused", () => {
    expect(partFromEnv({ RANK: "1", WORLD_SIZE: "2", LOCAL_RANK: "1" })).toEqual({ index: 1, count: 2 });
    expect(usage(() => partFromEnv({ RANK: "1" }))).toMatch(/RANK and WORLD_SIZE/);
    expect(usage(() => partFromEnv({ RANK: "x", WORLD_SIZE: "2" }))).toMatch(/RANK='x'/);
  });

  test("no scheduler names every variable; two at once is ambiguous; --parts must agree with the scheduler", () => {
    const none = usage(() => partFromEnv({ HOME: "/root" }));
    for (const v of ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "RANK", "WORLD_SIZE"]) expect(none).toContain(v);
    expect(
      usage(() => partFromEnv({ SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_TASK_COUNT: "2", RANK: "0", WORLD_SIZE: "2" })),
    )
      .toMatch(/ambiguous: variables of slurm and torchrun/);
    expect(usage(() => partFromEnv({ RANK: "0", WORLD_SIZE: "2" }, 3))).toMatch(/--parts 3 disagrees/);
  });
});

describe("ownedFiles() (--part balances bytes)", () => {
  test("one huge file and many small ones: the huge one is a part of its own", () => {
    const sizes = [100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10];
    expect(assignFiles(sizes, 2)).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  test("every file goes to exactly one part, and no part carries more than the even share plus the largest file", () => {
    fc.assert(fc.property(fc.array(fc.nat(1000), { maxLength: 60 }), fc.integer({ min: 1, max: 9 }), (sizes, count) => {
      const owners = Array.from({ length: count }, (_, index) => ownedFiles({ index, count }, sizes));
      const loads = new Array<number>(count).fill(0);
      for (const [i, size] of sizes.entries()) {
        const holders = owners.filter((owns) => owns(i));
        expect(holders.length).toBe(1);
        loads[owners.indexOf(holders[0])] += size;
      }
      const total = sizes.reduce((a, b) => a + b, 0);
      expect(Math.max(...loads)).toBeLessThanOrEqual(total / count + Math.max(0, ...sizes));
    }));
  });

  test("no part: every file", () => {
    expect(ownedFiles(undefined, [1, 2])(1)).toBe(true);
  });
});

describe("finalize() checks every part's files before it commits", () => {
  const engine = createCpuEngine();
  const layout = dimSplitLayout(4);
  const at = (storage: MemoryStorage, path: string) => ({ storage, path });

  async function source(): Promise<MemoryStorage> {
    const s = new MemoryStorage();
    const rows = (n: number, seed: number) => Uint8Array.from({ length: n * 8 * 4 }, (_, i) => (i * 13 + seed) & 0xff);
    await saveStateDict(s, "src", {
      big: makeTensor("float32", [64, 8], rows(64, 1)),
      small: makeTensor("float32", [4, 8], rows(4, 2)),
      train_state: { step: 3 },
    }, { ranks: 2 });
    return s;
  }

  test("names each missing or changed part, commits nothing, and succeeds once they are rerun", async () => {
    const s = await source();
    await reshard(at(s, "src"), at(s, "whole"), { layout, engine });
    for (const index of [0, 1, 3]) {
      await reshard(at(s, "src"), at(s, "out"), { layout, part: { index, count: 4 }, engine });
    }
    // Equal rank files: part r writes rank r's file.
    expect(await s.stat("out/__2_0.distcp")).toBeUndefined();
    const size = (await s.stat("out/__1_0.distcp"))!.size;
    await s.writeAll("out/__1_0.distcp", new Uint8Array(size - 1));
    const err = await finalize(at(s, "out")).then(() => undefined, (e) => e);
    expect(err).toMatchObject({ code: "E_GAP" });
    expect(err.message).toContain("2 of 4 parts are missing or incomplete");
    expect(err.message).toContain(`part 1/4: __1_0.distcp has ${size - 1} bytes, the part wrote ${size}`);
    expect(err.message).toContain("part 2/4: has not finished");
    expect(await s.stat("out/.metadata")).toBeUndefined();
    // Same size, other bytes: the CRC-32 of the file's end tells.
    await s.writeAll("out/__1_0.distcp", new Uint8Array(size));
    expect((await finalize(at(s, "out")).catch((e) => e)).message).toContain(
      "__1_0.distcp is not the file the part wrote",
    );
    for (const index of [1, 2]) {
      await reshard(at(s, "src"), at(s, "out"), { layout, part: { index, count: 4 }, engine });
    }
    await finalize(at(s, "out"));
    for (let r = 0; r < 4; r++) {
      expect(
        Buffer.from(await s.readAll(`out/__${r}_0.distcp`)).equals(
          Buffer.from(await s.readAll(`whole/__${r}_0.distcp`)),
        ),
      ).toBe(true);
    }
    expect((await s.list("out"))!.map((e) => e.name).filter((n) => n.startsWith(".webdcp"))).toEqual([]);
    expect((await verify({ storage: s, path: "out" }, { deep: true })).ok).toBe(true);
  });

  test("one byte flipped far from the end of a part's file, or a file cut short, is refused naming the part", async () => {
    const s = new MemoryStorage();
    // 128 KiB per rank file, so a flip near the start lies outside any tail window.
    const big = Uint8Array.from({ length: 16384 * 8 * 4 }, (_, i) => (i * 7 + 3) & 0xff);
    await saveStateDict(s, "src", { big: makeTensor("float32", [16384, 8], big) }, { ranks: 2 });
    for (let index = 0; index < 4; index++) {
      await reshard(at(s, "src"), at(s, "out"), { layout, part: { index, count: 4 }, engine });
    }
    const file = "out/__2_0.distcp";
    const good = await s.readAll(file);
    expect(good.byteLength).toBeGreaterThan(128 << 10);
    const flipped = good.slice();
    flipped[4096] ^= 0x01;
    await s.writeAll(file, flipped);
    const err = await finalize(at(s, "out")).then(() => undefined, (e) => e);
    expect(err).toMatchObject({ code: "E_GAP" });
    expect(err.message).toContain("1 of 4 parts are missing or incomplete: part 2/4: __2_0.distcp is not the file");
    await s.writeAll(file, good.subarray(0, good.byteLength - 1));
    expect((await finalize(at(s, "out")).catch((e) => e)).message).toContain(
      `part 2/4: __2_0.distcp has ${good.byteLength - 1} bytes, the part wrote ${good.byteLength}`,
    );
    expect(await s.stat("out/.metadata")).toBeUndefined();
    await s.writeAll(file, good);
    await finalize(at(s, "out"));
    expect((await verify({ storage: s, path: "out" }, { deep: true })).ok).toBe(true);
  });
});
