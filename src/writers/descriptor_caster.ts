import { DescriptorCaster } from "../pipeline/mod.ts";
import type { TargetTensor } from "../pipeline/mod.ts";
import type { WriterOptions } from "./writer.ts";

/**
 * The caster a writer hands its casts of stored bytes to, or undefined: where some tensor is cast and the
 * sinks take descriptors (local files, which copy too) written whole (a part's files are checksummed as they
 * pass, so their bytes must), on the CPU. `checksums` for outputs whose records carry a CRC-32 (zip).
 */
export function descriptorCasterFor(
  targets: readonly TargetTensor[],
  opts: WriterOptions,
  checksums: boolean,
): DescriptorCaster | undefined {
  const casts = targets.some((t) => t.dtype !== t.source.dtype);
  if (!casts || !opts.copies || opts.part || opts.engine.kind !== "cpu") return undefined;
  return DescriptorCaster.create({ checksums }) ?? undefined;
}
