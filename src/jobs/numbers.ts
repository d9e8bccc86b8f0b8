import type { DType } from "../dtype/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { FormatError } from "../errors/mod.ts";
import type { Engine } from "../engine/mod.ts";

/**
 * Element values as float64 for comparing tensors of any dtype: float64/float32 and integers are read
 * directly, narrower floats are widened by the engine's exact conversion to float32.
 */
export async function toFloat64(data: Uint8Array, dtype: DType, engine: Engine): Promise<Float64Array> {
  const n = data.byteLength / itemsize(dtype);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Float64Array(n);
  switch (dtype) {
    case "float64":
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    case "float32":
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return out;
    case "int64":
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(8 * i, true));
      return out;
    case "uint64":
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigUint64(8 * i, true));
      return out;
    case "int32":
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      return out;
    case "uint32":
      for (let i = 0; i < n; i++) out[i] = dv.getUint32(4 * i, true);
      return out;
    case "int16":
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
      return out;
    case "uint16":
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true);
      return out;
    case "int8":
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      return out;
    case "uint8":
    case "bool":
      for (let i = 0; i < n; i++) out[i] = data[i];
      return out;
    case "bfloat16":
    case "float16":
    case "float8_e4m3fn":
    case "float8_e5m2": {
      const wide = await engine.convert(data, dtype, "float32");
      const wv = new DataView(wide.buffer, wide.byteOffset, wide.byteLength);
      for (let i = 0; i < n; i++) out[i] = wv.getFloat32(4 * i, true);
      return out;
    }
    default:
      throw new FormatError("E_UNSUPPORTED", `cannot compare values of dtype ${dtype}`);
  }
}
