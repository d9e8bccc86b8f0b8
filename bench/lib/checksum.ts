/**
 * The fingerprint `bench/py/checksum.py` computes: the sum of every 4099th little-endian int32 word of a
 * tensor's dense bytes. Comparing it with PyTorch's proves both sides of a benchmark read the same values.
 */
const STRIDE_WORDS = 4099;

export function sampledChecksum(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const words = Math.floor(data.byteLength / 4);
  let sum = 0;
  for (let w = 0; w < words; w += STRIDE_WORDS) sum += view.getInt32(w * 4, true);
  return sum;
}
