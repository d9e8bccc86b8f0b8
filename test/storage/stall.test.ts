import { describe, expect, it } from "vitest";
import { STALLED, StallWatch } from "../../src/storage/stall.ts";

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
const never = () => new Promise<never>(() => {});

describe("StallWatch", () => {
  it("a read answered in time resolves to its value; one that gives nothing for stallMs resolves STALLED", async () => {
    const watch = new StallWatch(60);
    expect(await watch.read(after(10, "a"))).toBe("a");
    const started = performance.now();
    expect(await watch.read(never())).toBe(STALLED);
    expect(performance.now() - started).toBeGreaterThanOrEqual(59);
    watch.stop();
  });

  it("each read of a run gets its whole stallMs, however late in the timer's time it begins", async () => {
    const watch = new StallWatch(80);
    // Reads one after another for about twice the stall time, each in time: none is given up.
    for (let i = 0; i < 8; i++) expect(await watch.read(after(20, i))).toBe(i);
    const started = performance.now();
    expect(await watch.read(never())).toBe(STALLED);
    expect(performance.now() - started).toBeGreaterThanOrEqual(79);
    watch.stop();
  });

  it("a failed read rejects with its error; without stallMs a read is never given up", async () => {
    const watch = new StallWatch(50);
    await expect(watch.read(Promise.reject(new Error("cut")))).rejects.toThrow("cut");
    watch.stop();
    const unlimited = new StallWatch(undefined);
    expect(await Promise.race([unlimited.read(never()), after(120, "still waiting")])).toBe("still waiting");
  });
});
