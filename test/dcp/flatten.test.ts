import { describe, expect, it } from "vitest";
import { flattenStateDict, unflattenStateDict } from "../../src/dcp/flatten.ts";
import { PyTuple } from "../../src/pickle/value.ts";
import { makeTensor } from "../../src/tensor/mod.ts";

const t = (n: number) => makeTensor("float32", [n]);

describe("flattenStateDict()", () => {
  it("recurses Maps and plain objects into dotted FQNs with path tuples", () => {
    const sd = { train_state: new Map<unknown, unknown>([["step", 3], [7, "x"]]), model: { w: t(2) } };
    const { entries, plannerData } = flattenStateDict(sd);
    expect([...entries.keys()]).toEqual(["train_state.step", "train_state.7", "model.w"]);
    expect(plannerData.get("train_state.7")).toEqual(["train_state", "7"]);
    expect(entries.get("model.w")).toBe(sd.model.w);
  });

  it("recurses lists with tensors or mappings using int path elements", () => {
    const { entries, plannerData } = flattenStateDict({ x: { lst: [t(1), 3] }, pg: [{ lr: 0.1 }] });
    expect([...entries.keys()]).toEqual(["x.lst.0", "x.lst.1", "pg.0.lr"]);
    expect(plannerData.get("x.lst.0")).toEqual(["x", "lst", 0]);
    expect(plannerData.get("pg.0.lr")).toEqual(["pg", 0, "lr"]);
  });

  it("keeps terminal lists and every tuple (even around tensors) as single leaves", () => {
    const tup = new PyTuple([t(1), 1]);
    const { entries } = flattenStateDict({ base_lrs: [0.1, [0.2]], tup });
    expect(entries.get("base_lrs")).toEqual([0.1, [0.2]]);
    expect(entries.get("tup")).toBe(tup);
  });

  it("drops empty mappings, also inside lists", () => {
    const { entries } = flattenStateDict({ e: {}, lr_scheduler: { lr_lambdas: [{}], last_epoch: 1 } });
    expect([...entries.keys()]).toEqual(["lr_scheduler.last_epoch"]);
  });

  it("rejects a duplicated FQN", () => {
    expect(() => flattenStateDict({ "a.b": 1, a: { b: 2 } })).toThrowError(
      expect.objectContaining({ code: "E_USAGE" }),
    );
  });
});

describe("unflattenStateDict()", () => {
  it("rebuilds Maps and null-padded lists from planner_data", () => {
    const sd = { x: { lst: [t(1), 3] }, pg: [{ lr: 0.1 }], top: 5 };
    const { entries, plannerData } = flattenStateDict(sd);
    const back = unflattenStateDict(entries, plannerData);
    expect((back.get("x") as Map<string, unknown>).get("lst")).toEqual([sd.x.lst[0], 3]);
    expect(back.get("pg")).toEqual([new Map([["lr", 0.1]])]);
    expect(back.get("top")).toBe(5);
    const holes = unflattenStateDict(new Map([["a.2", 1]]), new Map([["a.2", ["a", 2]]]));
    expect(holes.get("a")).toEqual([null, null, 1]);
  });

  it("keeps FQNs top-level without planner_data", () => {
    expect([...unflattenStateDict(new Map([["a.b", 1]]), null)]).toEqual([["a.b", 1]]);
  });

  it("rejects planner_data that indexes a list with a str, or a far-out index", () => {
    const entries = new Map<string, number>([["a.0", 1], ["a.x", 2]]);
    const paths = new Map<string, (string | number)[]>([["a.0", ["a", 0]], ["a.x", ["a", "x"]]]);
    expect(() => unflattenStateDict(entries, paths)).toThrowError(expect.objectContaining({ code: "E_METADATA" }));
    const far = new Map<string, (string | number)[]>([["a", ["a", 1e9]]]);
    expect(() => unflattenStateDict(new Map([["a", 1]]), far)).toThrowError(
      expect.objectContaining({ code: "E_METADATA" }),
    );
  });
});
