/**
 * Model-specific rules: state-dict adapters (llama3 between TorchTitan and HuggingFace names, with rotary row
 * permutations) and llama3's tensor-parallel layout (`meshLayout`).
 *
 * @example
 * ```ts
 * import { meshLayout } from "./mod.ts";
 *
 * // FSDP 2 x TP 2: a colwise weight is split on dim 0 by TP, then on dim 0 again by FSDP; rank = dp * tp + t.
 * const boxes = meshLayout(2, 2).boxesFor("layers.0.attention.wq.weight", [8, 4]);
 * const rows = boxes.map((b) => `rank ${b.rank}: rows ${b.offsets[0]}+${b.sizes[0]}`);
 * if (rows.join(", ") !== "rank 0: rows 0+2, rank 2: rows 2+2, rank 1: rows 4+2, rank 3: rows 6+2") throw new Error();
 * ```
 * @module
 */
export * from "./adapter.ts";
export * from "./registry.ts";
export * from "./llama3/mod.ts";
