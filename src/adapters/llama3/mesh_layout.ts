import { chunkRanges, type Layout, type RankBox, wholeRankBox } from "../../dcp/mod.ts";
import { UsageError } from "../../errors/mod.ts";

const COLWISE = /(^|\.)(wq|wk|wv|w1|w3|output|lm_head|tok_embeddings)\.weight($|\.)/;
const ROWWISE = /(^|\.)(wo|w2)\.weight($|\.)/;

/**
 * The chunking TorchTitan's llama3 gets from FSDP2 (`dp_shard`) over tensor parallelism (`tp`): colwise
 * weights (wq, wk, wv, w1, w3, output, embeddings) are split on dim 0 across TP ranks, rowwise ones (wo, w2)
 * on dim 1, everything else is replicated across TP; FSDP then splits each TP-local piece on dim 0. Rank =
 * dp * tp + t. Replicated pieces are stored once, by the lowest rank holding them (as DCP's dedup does).
 */
export function meshLayout(dpShard: number, tp: number): Layout {
  for (const [n, v] of [["dpShard", dpShard], ["tp", tp]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new UsageError("E_USAGE", `${n} must be >= 1, got ${v}`, { option: n });
    }
  }
  return {
    ranks: dpShard * tp,
    description: `dp_shard=${dpShard} x tp=${tp}`,
    boxesFor(name, shape) {
      if (shape.length === 0) return [wholeRankBox(shape)];
      const tpDim = COLWISE.test(name) ? 0 : ROWWISE.test(name) && shape.length > 1 ? 1 : -1;
      const seen = new Set<string>();
      const out: RankBox[] = [];
      for (let t = 0; t < tp; t++) {
        const tpBox = wholeRankBox(shape);
        if (tpDim >= 0) [tpBox.offsets[tpDim], tpBox.sizes[tpDim]] = chunkRanges(shape[tpDim], tp)[t];
        const rows = chunkRanges(tpBox.sizes[0], dpShard);
        for (let d = 0; d < dpShard; d++) {
          const b: RankBox = { rank: d * tp + t, offsets: [...tpBox.offsets], sizes: [...tpBox.sizes] };
          b.offsets[0] += rows[d][0];
          b.sizes[0] = rows[d][1];
          const key = `${b.offsets}|${b.sizes}`;
          if (b.sizes.some((s) => s === 0) || seen.has(key)) continue;
          seen.add(key);
          out.push(b);
        }
      }
      return out.length > 0 ? out : [wholeRankBox(shape)];
    },
  };
}
