/**
 * A minimal WebAssembly binary encoder: just what scripts/build-cast-wasm.ts needs to write the CPU cast
 * kernels (one memory, functions of a few i32 parameters, i32/v128 locals, one loop, 128-bit SIMD). No text
 * format assembler is available here, so kernels are built as byte sequences through the helpers below;
 * the opcodes are those of the WebAssembly 2.0 core and fixed-width SIMD specifications.
 */

/** Bytes that leave exactly one value on the stack. */
export type Expr = number[];

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7F;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const b = n & 0x7F;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (
  id: number,
  body: number[],
) => [id, ...uleb(body.length), ...body];

const I32 = 0x7F;
const V128 = 0x7B;

/** Fixed-width SIMD opcodes (prefix 0xFD, then the LEB128 number) used by the kernels. */
export const OP = {
  load: 0x00,
  store: 0x0B,
  const: 0x0C,
  shuffle: 0x0D,
  swizzle: 0x0E,
  i8x16_lt_s: 0x25,
  i8x16_gt_s: 0x27,
  i8x16_le_u: 0x2A,
  i16x8_lt_s: 0x2F,
  i16x8_gt_s: 0x31,
  i32x4_lt_s: 0x39,
  i32x4_gt_s: 0x3B,
  f32x4_ne: 0x42,
  and: 0x4E,
  andnot: 0x4F,
  or: 0x50,
  bitselect: 0x52,
  f32x4_demote_f64x2_zero: 0x5E,
  i8x16_narrow_i16x8_u: 0x66,
  i8x16_shl: 0x6B,
  i8x16_shr_u: 0x6D,
  i8x16_add: 0x6E,
  i8x16_sub: 0x71,
  i16x8_narrow_i32x4_u: 0x86,
  i16x8_shl: 0x8B,
  i16x8_shr_u: 0x8D,
  i16x8_add: 0x8E,
  i16x8_sub: 0x91,
  i32x4_extend_low_i16x8_u: 0xA9,
  i32x4_extend_high_i16x8_u: 0xAA,
  i32x4_shl: 0xAB,
  i32x4_shr_u: 0xAD,
  i32x4_add: 0xAE,
  i32x4_sub: 0xB1,
  i32x4_min_u: 0xB7,
  f32x4_add: 0xE4,
  f32x4_sub: 0xE5,
} as const;

const simd = (op: number) => [0xFD, ...uleb(op)];

export const op1 = (op: number, a: Expr): Expr => [...a, ...simd(op)];
export const op2 = (
  op: number,
  a: Expr,
  b: Expr,
): Expr => [...a, ...b, ...simd(op)];
/** SIMD shifts take the count as a scalar i32. */
export const shift = (
  op: number,
  a: Expr,
  count: number,
): Expr => [...a, 0x41, ...sleb(count), ...simd(op)];
export const bitselect = (ifSet: Expr, ifClear: Expr, mask: Expr): Expr => [
  ...ifSet,
  ...ifClear,
  ...mask,
  ...simd(OP.bitselect),
];
export const shuffle = (
  a: Expr,
  b: Expr,
  lanes: number[],
): Expr => [...a, ...b, ...simd(OP.shuffle), ...lanes];

/**
 * One function of `params` i32 parameters: constants set up once, then a loop body run while `$i < $end`.
 */
export class FunctionBuilder {
  /** Locals after the parameters. */
  readonly #locals: number[] = [];
  readonly #prologue: number[] = [];
  readonly #body: number[] = [];
  readonly #constants = new Map<string, Expr>();

  constructor(private readonly params: number) {}

  local(type: "i32" | "v128"): number {
    this.#locals.push(type === "i32" ? I32 : V128);
    return this.params + this.#locals.length - 1;
  }

  /** A v128 constant of these 16 bytes, materialised once before the loop. */
  bytes(lanes: number[]): Expr {
    const key = lanes.join(",");
    let got = this.#constants.get(key);
    if (got === undefined) {
      const index = this.local("v128");
      this.#prologue.push(...simd(OP.const), ...lanes, 0x21, ...uleb(index));
      got = [0x20, ...uleb(index)];
      this.#constants.set(key, got);
    }
    return got;
  }

  /** A v128 constant with `value` in each of its four 32-bit lanes. */
  i32x4(value: number): Expr {
    const b = [
      value & 0xFF,
      (value >>> 8) & 0xFF,
      (value >>> 16) & 0xFF,
      (value >>> 24) & 0xFF,
    ];
    return this.bytes([...b, ...b, ...b, ...b]);
  }

  /** A v128 constant with `value` in each of its eight 16-bit lanes. */
  i16x8(value: number): Expr {
    return this.bytes(new Array(8).fill([value & 0xFF, (value >>> 8) & 0xFF]).flat());
  }

  i8x16(value: number): Expr {
    return this.bytes(new Array(16).fill(value & 0xFF));
  }

  /** Evaluates `e` once, in the loop body, and gives an expression that reads the result. */
  let(e: Expr): Expr {
    const index = this.local("v128");
    this.#body.push(...e, 0x21, ...uleb(index));
    return [0x20, ...uleb(index)];
  }

  emit(bytes: number[]): void {
    this.#body.push(...bytes);
  }

  /**
   * The function's code entry: `$i` walks the input from `start.i` by `inStep`, `$o` the output from
   * `start.o` by `outStep`, until `$i` reaches `start.i + $n * inItem` (`start` names the parameters that
   * hold the input and output addresses and the count `$n`; the loop runs at least once: callers pass
   * `$n >= 1`).
   */
  encode(
    loopIndex: { i: number; o: number; end: number },
    start: { n: number; i: number; o: number },
    inItem: number,
    inStep: number,
    outStep: number,
  ): number[] {
    const { i, o, end } = loopIndex;
    const get = (x: number) => [0x20, ...uleb(x)];
    const set = (x: number) => [0x21, ...uleb(x)];
    const code = [
      ...this.#prologue,
      ...get(start.i),
      ...set(i),
      ...get(start.n),
      0x41,
      ...sleb(inItem),
      0x6C,
      ...get(i),
      0x6A,
      ...set(end), // $end = $i + $n * inItem
      ...get(start.o),
      ...set(o),
      0x03,
      0x40, // loop
      ...this.#body,
      ...get(i),
      0x41,
      ...sleb(inStep),
      0x6A,
      ...set(i),
      ...get(o),
      0x41,
      ...sleb(outStep),
      0x6A,
      ...set(o),
      ...get(i),
      ...get(end),
      0x49,
      0x0D,
      0x00, // br_if 0 ($i <u $end)
      0x0B, // end loop
      0x0B, // end function
    ];
    const locals = this.#locals.map((t) => [1, t]);
    const entry = [...vec(locals), ...code];
    return [...uleb(entry.length), ...entry];
  }
}

/** `v128.load` / `v128.store` at `$local + offset` (16-byte alignment hint). */
export const load = (
  local: number,
  offset: number,
): Expr => [0x20, ...uleb(local), ...simd(OP.load), 4, ...uleb(offset)];
export const store = (local: number, offset: number, value: Expr): number[] => [
  0x20,
  ...uleb(local),
  ...value,
  ...simd(OP.store),
  4,
  ...uleb(offset),
];

/** A value type of the functions' signatures and locals. */
export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";
const VAL_TYPE: Record<ValType, number> = { i32: I32, i64: 0x7E, f32: 0x7D, f64: 0x7C, v128: V128 };

/** A function type. */
export interface Signature {
  params: ValType[];
  results: ValType[];
}

/** One function: its code entry; exported under `name` when it has one. */
export interface ModuleFunction {
  name?: string;
  code: number[];
  signature: Signature;
}

/** A function of the host, imported before the module's own (so it takes the first function indices). */
export interface ModuleImport {
  module: string;
  name: string;
  signature: Signature;
}

/** A code entry for a function with these locals (after its parameters) and body (without the final `end`). */
export function functionCode(locals: ValType[], body: number[]): number[] {
  // A misspelt opcode name is `undefined` here, which would encode as 0x00 (`unreachable`, still valid).
  const bad = body.findIndex((b) => !Number.isInteger(b) || b < 0 || b > 255);
  if (bad >= 0) throw new Error(`byte ${bad} of a function body is ${body[bad]}`);
  const entry = [...vec(locals.map((t) => [1, VAL_TYPE[t]])), ...body, 0x0B];
  return [...uleb(entry.length), ...entry];
}

/**
 * The module's one memory: its own, non-growing, of `pages` and exported as "memory"; or imported as
 * `env.memory` (at least `minPages`; `shared` ones declare the largest size a WebAssembly memory has).
 */
export type ModuleMemory = { pages: number } | { import: "shared" | "private"; minPages: number };

/** Memory limits: the flag (bit 0: a maximum follows; bit 1: shared), the minimum, and the maximum. */
function limits(memory: ModuleMemory): number[] {
  if ("pages" in memory) return [0x01, ...uleb(memory.pages), ...uleb(memory.pages)];
  return memory.import === "shared"
    ? [0x03, ...uleb(memory.minPages), ...uleb(65536)]
    : [0x00, ...uleb(memory.minPages)];
}

/** A module with one memory (see ModuleMemory), imported functions first. */
export function encodeModule(
  memory: ModuleMemory,
  functions: ModuleFunction[],
  imports: ModuleImport[] = [],
): Uint8Array {
  const types: string[] = [];
  const typeOf = (s: Signature) => {
    const key = JSON.stringify(s);
    if (!types.includes(key)) types.push(key);
    return types.indexOf(key);
  };
  const name = (s: string) => [...uleb(utf8(s).length), ...utf8(s)];
  const importEntries = imports.map((i) => [...name(i.module), ...name(i.name), 0x00, ...uleb(typeOf(i.signature))]);
  if (!("pages" in memory)) importEntries.push([...name("env"), ...name("memory"), 0x02, ...limits(memory)]);
  const functionTypes = functions.map((f) => uleb(typeOf(f.signature)));
  const encodeType = (key: string) => {
    const s = JSON.parse(key) as Signature;
    return [0x60, ...vec(s.params.map((t) => [VAL_TYPE[t]])), ...vec(s.results.map((t) => [VAL_TYPE[t]]))];
  };
  const exported = functions.flatMap((f, index) =>
    f.name === undefined ? [] : [[...name(f.name), 0x00, ...uleb(imports.length + index)]]
  );
  const ownMemory = "pages" in memory;
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6D,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types.map(encodeType))),
    ...(importEntries.length === 0 ? [] : section(2, vec(importEntries))),
    ...section(3, vec(functionTypes)),
    ...(ownMemory ? section(5, vec([limits(memory)])) : []),
    ...section(7, vec(ownMemory ? [[...name("memory"), 0x02, 0], ...exported] : exported)),
    ...section(10, vec(functions.map((f) => f.code))),
  ];
  return Uint8Array.from(bytes);
}
