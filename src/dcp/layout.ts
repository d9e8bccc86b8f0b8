import * as z from "../schema/mod.ts";
import type { Box } from "../tensor/mod.ts";
import { UsageError } from "../errors/mod.ts";
import { checkTiling } from "./tiling.ts";

/** One target chunk of a tensor and the rank whose file holds it. */
export interface RankBox extends Box {
  /** The rank whose file holds the chunk. */
  rank: number;
}

/** A target chunking for DCP output: how many ranks, and each tensor's chunks. */
export interface Layout {
  /** Number of ranks (rank files). */
  ranks: number;
  /** Chunks of one tensor; together they tile `shape` exactly once. */
  boxesFor(name: string, shape: readonly number[]): RankBox[];
  /** How the layout was described, for plans and reports. */
  description: string;
}

/** `n` split into `parts` pieces as `torch.chunk` / DTensor `Shard` do: ceil-sized, trailing pieces may be empty. */
export function chunkRanges(n: number, parts: number): Array<[start: number, length: number]> {
  const size = Math.ceil(n / parts);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < parts; i++) {
    const start = Math.min(n, i * size);
    out.push([start, Math.min(n, start + size) - start]);
  }
  return out;
}

/** The whole tensor as one box, held by `rank`. */
export function wholeRankBox(shape: readonly number[], rank = 0): RankBox {
  return { rank, offsets: shape.map(() => 0), sizes: [...shape] };
}

/** Splits tensors along `dim` over `ranks` ranks; tensors with fewer dimensions go whole to rank 0. */
export function dimSplitLayout(ranks: number, dim = 0): Layout {
  if (!Number.isSafeInteger(ranks) || ranks < 1) {
    throw new UsageError("E_USAGE", `ranks must be >= 1, got ${ranks}`, { option: "ranks" });
  }
  return {
    ranks,
    description: `${ranks} rank(s), split on dim ${dim}`,
    boxesFor(_name, shape) {
      if (shape.length <= dim) return [wholeRankBox(shape)];
      return chunkRanges(shape[dim], ranks)
        .map(([start, len], rank) => {
          const b = wholeRankBox(shape, rank);
          b.offsets[dim] = start;
          b.sizes[dim] = len;
          return b;
        })
        .filter((b) => b.sizes[dim] > 0 || shape[dim] === 0 && b.rank === 0);
    },
  };
}

const LayoutFile = z.lazySchema(() =>
  z.object({
    ranks: z.number().check(z.int(), z.minimum(1)),
    tensors: z.record(
      z.string(),
      z.array(z.object({
        rank: z.number().check(z.int(), z.minimum(0)),
        offsets: z.array(z.number().check(z.int(), z.minimum(0))),
        sizes: z.array(z.number().check(z.int(), z.minimum(0))),
      })),
    ),
  })
);

/**
 * A layout from `layout.json`: `{ "ranks": N, "tensors": { "<fqn>": [{ "rank", "offsets", "sizes" }, ...] } }`.
 * Tensors not listed are written whole by rank 0. Boxes must tile their tensor, checked on use.
 */
export function parseLayoutJson(text: string, path = "layout.json"): Layout {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError("E_USAGE", `layout is not valid JSON: ${(e as Error).message}`, { path });
  }
  const parsed = LayoutFile().safeParse(json);
  if (!parsed.success) {
    throw new UsageError("E_USAGE", `layout does not match {ranks, tensors}: ${parsed.error.issues[0]?.message}`, {
      path,
    });
  }
  const { ranks, tensors } = parsed.data;
  return {
    ranks,
    description: `layout ${path} (${ranks} ranks)`,
    boxesFor(name, shape) {
      const boxes = tensors[name];
      if (!boxes) return [wholeRankBox(shape)];
      const bad = boxes.find((b) => b.rank >= ranks);
      if (bad) throw new UsageError("E_USAGE", `layout gives '${name}' to rank ${bad.rank} of ${ranks}`, { path });
      const problems = checkTiling(shape, boxes);
      if (problems.length > 0) {
        throw new UsageError("E_USAGE", `layout for '${name}' [${shape.join(", ")}]: ${problems[0].message}`, { path });
      }
      return boxes.map((b) => ({ rank: b.rank, offsets: [...b.offsets], sizes: [...b.sizes] }));
    },
  };
}

/** Writes a layout out as `layout.json` data for the given tensors (so a mesh layout can be saved and edited). */
export function layoutToJson(layout: Layout, tensors: ReadonlyArray<{ name: string; shape: number[] }>): string {
  const lines = tensors.map((t) => {
    const boxes = layout.boxesFor(t.name, t.shape).map((b) => `   ${JSON.stringify(b)}`);
    return `  ${JSON.stringify(t.name)}: [\n${boxes.join(",\n")}\n  ]`;
  });
  return `{\n "ranks": ${layout.ranks},\n "tensors": {\n${lines.join(",\n")}\n }\n}`;
}
