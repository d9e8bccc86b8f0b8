import { describe, expect, it } from "vitest";
import { runLimited } from "../../src/tasks/mod.ts";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("runLimited()", () => {
  it("keeps at most `limit` tasks in flight and returns results in task order", async () => {
    let running = 0, peak = 0;
    const tasks = [30, 5, 20, 1, 10].map((ms, i) => async () => {
      peak = Math.max(peak, ++running);
      await tick(ms);
      running--;
      return i;
    });
    expect(await runLimited(tasks, 2)).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
  });

  it("starts nothing after a failure and rejects only once running tasks have settled", async () => {
    const started: number[] = [];
    let slowDone = false;
    const tasks = [
      async () => {
        started.push(0);
        await tick(30);
        slowDone = true;
      },
      async () => {
        started.push(1);
        await tick(1);
        throw new Error("boom");
      },
      async () => void started.push(2),
    ];
    await expect(runLimited(tasks, 2)).rejects.toThrow("boom");
    expect(slowDone).toBe(true);
    expect(started).toEqual([0, 1]);
  });
});
