/**
 * CRC-32 of joined and split byte strings without reading the bytes again. For the zip CRC (as `crc32`
 * computes it), appending `n` bytes is linear: crc(A ++ B) = x^(8n) * crc(A) + crc(B), with polynomials over
 * GF(2) modulo the CRC polynomial P and n = length of B. P is primitive (x has order 2^32 - 1 modulo P, checked
 * in the tests), so multiplying by x^(8n) can also be undone. That gives a piece's CRC from its neighbours':
 * a reshard that cuts a stored record in two needs to read only the smaller part to know both CRCs.
 *
 * Polynomials are 32-bit words in the zip CRC's reflected order: bit 31 holds x^0, bit 0 holds x^31.
 */
const POLY = 0xedb88320;
const ONE = 0x80000000;
/** The order of x modulo P: x^ORDER = 1, so x^-k = x^(ORDER - k mod ORDER). */
const ORDER = 2n ** 32n - 1n;

/** a * b modulo P: b times each term x^i of a (bit 31 - i), with b multiplied by x once per term. */
function multiply(a: number, b: number): number {
  let product = 0;
  for (let bit = 31; bit >= 0; bit--) {
    if ((a >>> bit) & 1) product ^= b;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** xPow2()[k] = x^(2^k) modulo P, for k < 64; made on first use, not when the module loads. */
let xPow2Table: number[] | undefined;
function xPow2(): number[] {
  if (xPow2Table === undefined) {
    xPow2Table = [ONE >>> 1]; // x^1
    for (let k = 1; k < 64; k++) xPow2Table.push(multiply(xPow2Table[k - 1], xPow2Table[k - 1]));
  }
  return xPow2Table;
}

/** x^e modulo P, for 0 <= e < 2^64. */
function xPower(e: bigint): number {
  const table = xPow2();
  let result = ONE;
  for (let k = 0; e > 0n; k++, e >>= 1n) if (e & 1n) result = multiply(result, table[k]);
  return result;
}

/** Multiplying by this appends `bytes` bytes: x^(8 * bytes). */
function shift(bytes: number): number {
  return xPower((8n * BigInt(bytes)) % ORDER);
}

/** Multiplying by this removes `bytes` appended bytes: x^(-8 * bytes). */
function unshift(bytes: number): number {
  return xPower((ORDER - ((8n * BigInt(bytes)) % ORDER)) % ORDER);
}

/** CRC-32 of A ++ B from crc(A), crc(B) and B's length. */
export function crc32Join(crcA: number, crcB: number, lengthB: number): number {
  return (multiply(shift(lengthB), crcA) ^ crcB) >>> 0;
}

/** CRC-32 of B, the last `lengthB` bytes of A ++ B, from crc(A ++ B) and crc(A). */
export function crc32OfSuffix(crcWhole: number, crcPrefix: number, lengthB: number): number {
  return (crcWhole ^ multiply(shift(lengthB), crcPrefix)) >>> 0;
}

/** CRC-32 of A, what precedes the last `lengthB` bytes of A ++ B, from crc(A ++ B) and crc(B). */
export function crc32OfPrefix(crcWhole: number, crcSuffix: number, lengthB: number): number {
  return multiply(unshift(lengthB), (crcWhole ^ crcSuffix) >>> 0);
}

/** Whether x^(2^32 - 1) = 1 and no smaller power of the form (2^32 - 1) / p is (what `unshift` relies on). */
export function xHasFullOrder(): boolean {
  if (xPower(ORDER) !== ONE) return false;
  return [3n, 5n, 17n, 257n, 65537n].every((p) => xPower(ORDER / p) !== ONE);
}
