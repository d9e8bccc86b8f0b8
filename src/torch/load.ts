import { FormatError } from "../errors/mod.ts";
import { PyTuple, type PyValue } from "../pickle/mod.ts";
import type { ByteSource } from "../storage/storage.ts";
import type { Tensor } from "../tensor/mod.ts";
import { openTorchArchive, type OpenTorchArchiveOptions } from "./open_archive.ts";
import { TensorRef } from "./tensor_ref.ts";
import { pyObject } from "./tokens.ts";

/** Deeper nesting than this is refused rather than risking the JavaScript call stack. */
const MAX_DEPTH = 2000;

/**
 * Loads a torch.save archive with every tensor materialised as a dense `Tensor`. Views become copies, and
 * two tensors sharing one storage each get their own data. Containers shared inside the pickle (the same
 * list referenced twice) stay shared in the result.
 */
export async function loadTorch(source: ByteSource, opts: OpenTorchArchiveOptions = {}): Promise<PyValue> {
  const archive = await openTorchArchive(source, opts);
  const done = new Map<object, PyValue>();
  const path = opts.path ?? source.path;

  const walk = async (v: PyValue, depth: number): Promise<PyValue> => {
    if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
    const hit = done.get(v);
    if (hit !== undefined) return hit;
    if (depth > MAX_DEPTH) throw new FormatError("E_UNSUPPORTED", `value nests deeper than ${MAX_DEPTH}`, { path });
    if (v instanceof TensorRef) {
      const t: Tensor = await archive.readTensor(v);
      done.set(v, pyObject(t));
      return pyObject(t);
    }
    if (Array.isArray(v)) {
      const out: PyValue[] = [];
      done.set(v, out);
      for (const x of v) out.push(await walk(x, depth + 1));
      return out;
    }
    if (v instanceof Map) {
      const out = new Map<PyValue, PyValue>();
      done.set(v, out);
      for (const [k, x] of v) out.set(await walk(k, depth + 1), await walk(x, depth + 1));
      return out;
    }
    if (v instanceof PyTuple) {
      // A tuple cannot contain itself, so its items are settled before it is recorded.
      const items: PyValue[] = [];
      for (const x of v.items) items.push(await walk(x, depth + 1));
      const out = new PyTuple(items);
      done.set(v, out);
      return out;
    }
    return v;
  };
  return await walk(archive.value, 0);
}
