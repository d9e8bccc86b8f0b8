import { describe, expect, test } from "vitest";
import { globToRegExp, keyFilter } from "../../src/source/glob.ts";
import { parseByteSize } from "../../src/cli/byte_size.ts";
import { rowBands } from "../../src/pipeline/bands.ts";
import { selectEntries } from "../../src/source/select.ts";
import type { Entry } from "../../src/source/mod.ts";

const t = (name: string): Entry => ({ kind: "tensor", name, dtype: "float32", shape: [1], chunks: [], bytes: 4 });
const v = (name: string): Entry => ({ kind: "value", name, bytes: 0 });

describe("key selection and sizes", () => {
  test("globToRegExp() keeps * inside one dotted segment and ** across segments", () => {
    expect(globToRegExp("layers.*.attention.wq.weight").test("layers.12.attention.wq.weight")).toBe(true);
    expect(globToRegExp("layers.*.weight").test("layers.1.attention.wq.weight")).toBe(false);
    expect(globToRegExp("layers.**.weight").test("layers.1.attention.wq.weight")).toBe(true);
  });

  test("keyFilter() treats a plain name as a group prefix and lets exclude win", () => {
    const keep = keyFilter(undefined, ["optimizer", "train_state.step"]);
    expect(keep("optimizer.state.w.exp_avg")).toBe(false);
    expect(keep("optimizer_extra")).toBe(true);
    expect(keep("train_state.ntokens_seen")).toBe(true);
    expect(keyFilter(["tok_*"], ["tok_embeddings.weight"])("tok_embeddings.weight")).toBe(false);
  });

  test("parseByteSize() reads HF style sizes in decimal and binary units", () => {
    expect(parseByteSize("5GB")).toBe(5e9);
    expect(parseByteSize("1.5MiB")).toBe(1572864);
    expect(parseByteSize("4096")).toBe(4096);
    expect(() => parseByteSize("5 parsecs")).toThrow(/byte size/);
    expect(() => parseByteSize("0")).toThrow(/out of range/);
  });

  test("rowBands() cuts whole rows within the budget and respects row groups", () => {
    const bands = rowBands({ offsets: [2, 0], sizes: [5, 3] }, 4, 24);
    expect(bands.map((b) => [b.offsets[0], b.sizes[0]])).toEqual([[2, 2], [4, 2], [6, 1]]);
    const grouped = rowBands({ offsets: [0, 0], sizes: [8, 1] }, 4, 12, 4);
    expect(grouped.map((b) => [b.offsets[0], b.sizes[0]])).toEqual([[0, 4], [4, 4]]);
    expect(rowBands({ offsets: [], sizes: [] }, 4, 1)).toEqual([{ offsets: [], sizes: [] }]);
  });
});

describe("selectEntries()", () => {
  test("--model-only drops the training groups and unwraps model. from a TorchTitan checkpoint", () => {
    const s = selectEntries(
      [t("model.w"), t("optimizer.state.model.w.exp_avg"), v("lr_scheduler.last_epoch"), v("train_state.step")],
      "dcp",
      { modelOnly: true },
    );
    expect(s.tensors.map((x) => [x.name, x.entry.name])).toEqual([["w", "model.w"]]);
    expect(s.dropped).toEqual(["optimizer.state.model.w.exp_avg", "lr_scheduler.last_epoch", "train_state.step"]);
  });

  test("--model-only keeps HuggingFace names, which start with model. by design", () => {
    const s = selectEntries([t("model.embed_tokens.weight"), t("model.norm.weight")], "hf", { modelOnly: true });
    expect(s.tensors.map((x) => x.name)).toEqual(["model.embed_tokens.weight", "model.norm.weight"]);
  });

  test("no unwrap when some kept entry lacks the prefix; a group prefix is a whole segment", () => {
    const s = selectEntries([t("model.w"), t("norm.weight"), t("optimizers_extra")], "torch", { modelOnly: true });
    expect(s.tensors.map((x) => x.name)).toEqual(["model.w", "norm.weight", "optimizers_extra"]);
  });
});
