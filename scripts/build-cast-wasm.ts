/**
 * Regenerates src/engine/cpu/cast_simd.generated.ts: a WebAssembly SIMD module with one kernel per cast of
 * the CPU engine, the same functions as the TypeScript twin (src/engine/cpu/float_bits.ts) written on SIMD
 * lanes. Run: npx deno run --allow-read --allow-write scripts/build-cast-wasm.ts (a test
 * checks the embedded module is current, and the engine's exhaustive tests judge its bits against torch).
 *
 * How each kernel works, per 16 elements:
 * - wider sources become float32 bit patterns: float32 as is; float64 through the hardware's round-to-
 *   nearest-even demotion (NaN lanes rebuilt from the bits, as the twin quiets them, since WebAssembly
 *   leaves a demoted NaN's payload open); bfloat16 by a shift;
 * - float32 bits narrow as in the twin: the normal case rounds to nearest even on the dropped bits in
 *   integer arithmetic; the target-denormal case adds a power of two whose unit in the last place is the
 *   target's denormal step and lets the float32 adder round (Giesen's "magic number" method); overflow,
 *   infinity and NaN are selected by masks (scripts/wasm/float_lanes.ts);
 * - float16 -> float32 and bfloat16 <-> float16 compute on eight 16-bit lanes at a time, float16 denormals
 *   through the float32 adder; float8 -> 16- and 32-bit targets on two planes of 16 bytes: a rebias, and
 *   `i8x16.swizzle` tables (filled here from the twin) for the few magnitudes that do not follow it
 *   (scripts/wasm/half_lanes.ts);
 * - 16-bit sources to the float8 targets look their results up in a table the engine fills from the
 *   twin (TABLE_KERNELS); float8 -> float8 looks them up in eight `i8x16.swizzle` tables filled here from
 *   the twin. Both are exact by construction.
 */
import { writeFileSync } from "node:fs";
import { elementConverter } from "../src/engine/cpu/convert.ts";
import { CONVERT_SOURCES, CONVERT_TARGETS, type ConvertSource, type ConvertTarget } from "../src/dtype/mod.ts";
import {
  bitselect,
  encodeModule,
  type Expr,
  FunctionBuilder,
  load,
  type ModuleFunction,
  OP,
  op1,
  op2,
  shuffle,
  type Signature,
  store,
  uleb,
} from "./wasm/encode.ts";
import { and, type F, narrow, or, shl, shr } from "./wasm/float_lanes.ts";
import { halfLaneKernel } from "./wasm/half_lanes.ts";

/**
 * Elements per kernel call through a scratch area (a thread's own CHUNK-sized input and output regions and
 * its lookup table): the input region holds CHUNK float64s, the output region CHUNK float32s.
 */
export const CHUNK = 16384;
const OUT_BASE = CHUNK * 8;
const ITEM: Record<ConvertSource, number> = {
  float64: 8,
  float32: 4,
  bfloat16: 2,
  float16: 2,
  float8_e4m3fn: 1,
  float8_e5m2: 1,
};

/** The lookup table: 65536 one-byte entries. */
const TABLE_BASE = OUT_BASE + CHUNK * 4;
/** Bytes of a scratch area (whole pages). */
const SCRATCH_BYTES = TABLE_BASE + 65536;

/** A kernel's parameters: `(n, src, dst, table)`, element count and the addresses of input, output and table. */
const PARAM = { n: 0, src: 1, dst: 2, table: 3 } as const;

/**
 * Casts done by table lookup instead of arithmetic (chosen by measuring both with bench/cast.bench.ts): a
 * 16-bit source indexes 65536 results, to the float8 targets (bfloat16 <-> float16 and float16 -> float32
 * run on 16-bit lanes, bfloat16 -> float32 is a shift). The engine fills the table from the TypeScript
 * twin's own table of every input pattern, so the results are the twin's by construction.
 */
const TABLE_KERNELS: readonly string[] = CONVERT_SOURCES.flatMap((from) =>
  CONVERT_TARGETS.filter((to) => ITEM[from] === 2 && ITEM[to] === 1).map((to) => `${from}_${to}`)
);

const range = (from: number, count: number) => Array.from({ length: count }, (_, k) => from + k);

/** Four float32-bit vectors of 16 float64s at `$i`: demoted, NaNs rebuilt as f64ToF32 does. */
function loadF64(f: F, i: number): Expr[] {
  return range(0, 4).map((k) => {
    const lo = f.let(load(i, 32 * k));
    const hi = f.let(load(i, 32 * k + 16));
    const demoted = f.let(shuffle(
      op1(OP.f32x4_demote_f64x2_zero, lo),
      op1(OP.f32x4_demote_f64x2_zero, hi),
      [...range(0, 8), ...range(16, 8)],
    ));
    const lows = shuffle(lo, hi, [
      0,
      1,
      2,
      3,
      8,
      9,
      10,
      11,
      16,
      17,
      18,
      19,
      24,
      25,
      26,
      27,
    ]);
    const highs = f.let(
      shuffle(lo, hi, [
        4,
        5,
        6,
        7,
        12,
        13,
        14,
        15,
        20,
        21,
        22,
        23,
        28,
        29,
        30,
        31,
      ]),
    );
    const payload = or(shl(and(highs, f.i32x4(0xFFFFF)), 3), shr(lows, 29));
    const quiet = or(
      or(and(highs, f.i32x4(0x80000000)), f.i32x4(0x7FC00000)),
      payload,
    );
    return bitselect(quiet, demoted, op2(OP.f32x4_ne, demoted, demoted));
  });
}

/** Four vectors of 16 float32 bit patterns at `$i`: float32 as is, bfloat16 shifted into the top halves. */
function loadWide(f: F, from: "float32" | "bfloat16", i: number): Expr[] {
  if (from === "float32") return range(0, 4).map((k) => load(i, 16 * k));
  const halves = [f.let(load(i, 0)), f.let(load(i, 16))];
  return halves.flatMap((h) => [
    shl(op1(OP.i32x4_extend_low_i16x8_u, h), 16),
    shl(op1(OP.i32x4_extend_high_i16x8_u, h), 16),
  ]);
}

/** Stores four vectors of target bits (one element per 32-bit lane) at `$o`, packed to the target's width. */
function storePacked(f: F, to: ConvertTarget, o: number, v: Expr[]): void {
  const size = to === "float32" ? 4 : to === "bfloat16" || to === "float16" ? 2 : 1;
  if (size === 4) {
    v.forEach((x, k) => f.emit(store(o, 16 * k, x)));
    return;
  }
  const pairs = [
    op2(OP.i16x8_narrow_i32x4_u, v[0], v[1]),
    op2(OP.i16x8_narrow_i32x4_u, v[2], v[3]),
  ];
  if (size === 2) {
    pairs.forEach((x, k) => f.emit(store(o, 16 * k, x)));
    return;
  }
  f.emit(store(o, 0, op2(OP.i8x16_narrow_i16x8_u, pairs[0], pairs[1])));
}

/**
 * float8 -> float8 by table lookup on the 7 magnitude bits: eight 16-entry `i8x16.swizzle` tables, filled
 * here from the twin, with the sign bit passed through (or dropped from some magnitude up, where the twin
 * drops it). Returns false (emitting nothing) when the twin's results do not split that way (then the
 * arithmetic path is used).
 */
function swizzleKernel(f: F, from: ConvertSource, to: ConvertTarget, i: number, o: number): boolean {
  const convert = elementConverter(from, to);
  const table = range(0, 128).map((m) => convert(m, 0));
  const keeps = table.map((r, m) => {
    const negative = convert(0x80 | m, 0);
    return negative === (r | 0x80) ? true : negative === r ? false : undefined;
  });
  const firstDrop = keeps.indexOf(false);
  const keepBelow = firstDrop === -1 ? 128 : firstDrop;
  if (keeps.includes(undefined) || keepBelow === 0 || keeps.slice(keepBelow).some((k) => k)) return false;
  const bytes = f.let(load(i, 0));
  const magnitude = f.let(and(bytes, f.i8x16(0x7F)));
  const lookups: Expr[] = [];
  for (let h = 0; h < 8; h++) {
    // Indices outside 0..15 (after wrapping) select 0, so each table answers only for its own 16 magnitudes.
    const index = f.let(op2(OP.i8x16_sub, magnitude, f.i8x16(16 * h)));
    lookups.push(op2(OP.swizzle, f.bytes(range(16 * h, 16).map((m) => table[m] & 0xFF)), index));
  }
  let sign = and(bytes, f.i8x16(0x80));
  if (keepBelow < 128) sign = and(sign, op2(OP.i8x16_le_u, magnitude, f.i8x16(keepBelow - 1)));
  f.emit(store(o, 0, or(lookups.reduce((acc, p) => or(acc, p)), sign)));
  return true;
}

const memarg = (offset: number) => [0, ...uleb(offset)];

/** 16 elements by table lookup (see TABLE_KERNELS): entry = table[16-bit load], stored in order. */
function lookupKernel(f: F, i: number, o: number): void {
  for (let u = 0; u < 16; u++) {
    f.emit([
      0x20,
      ...uleb(o),
      0x20,
      ...uleb(PARAM.table),
      0x20,
      ...uleb(i),
      0x2F,
      ...memarg(2 * u), // i32.load16_u
      0x6A, // i32.add
      0x2D,
      ...memarg(0), // i32.load8_u
      0x3A,
      ...memarg(u), // i32.store8
    ]);
  }
}

function kernel(from: ConvertSource, to: ConvertTarget): number[] {
  const f = new FunctionBuilder(4);
  const i = f.local("i32");
  const o = f.local("i32");
  const end = f.local("i32");
  const outSize = to === "float32" ? 4 : to === "bfloat16" || to === "float16" ? 2 : 1;
  const lookup = TABLE_KERNELS.includes(`${from}_${to}`);
  if (lookup) lookupKernel(f, i, o);
  const done = lookup || halfLaneKernel(f, from, to, i, o) ||
    (ITEM[from] === 1 && outSize === 1 && swizzleKernel(f, from, to, i, o));
  if (!done) {
    if (from !== "float64" && from !== "float32" && from !== "bfloat16") {
      throw new Error(`no kernel shape fits ${from} -> ${to}`);
    }
    const wide = from === "float64" ? loadF64(f, i) : loadWide(f, from, i).map((x) => f.let(x));
    const wideSource = from === "float32" || from === "float64";
    storePacked(f, to, o, wide.map((x) => f.let(narrow(f, to, wideSource, x))));
  }
  return f.encode({ i, o, end }, { n: PARAM.n, i: PARAM.src, o: PARAM.dst }, ITEM[from], 16 * ITEM[from], 16 * outSize);
}

/** The kernels, in a module that imports its memory (`env.memory`, shared or not). */
export function castModuleBytes(memory: "shared" | "private"): Uint8Array {
  const signature: Signature = { params: ["i32", "i32", "i32", "i32"], results: [] };
  const functions: ModuleFunction[] = [];
  for (const from of CONVERT_SOURCES) {
    for (const to of CONVERT_TARGETS) {
      if (from !== to) functions.push({ name: `${from}_${to}`, code: kernel(from, to), signature });
    }
  }
  return encodeModule({ import: memory, minPages: SCRATCH_BYTES / 65536 }, functions);
}

const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

export function renderCastModule(): string {
  const [shared, own] = [castModuleBytes("shared"), castModuleBytes("private")];
  return [
    "// Generated by scripts/build-cast-wasm.ts from the CPU twin's cast functions. Do not edit.",
    "/**",
    " * Elements per kernel call through a scratch area: a thread's input region (at its start) holds this many",
    " * float64s.",
    " */",
    `export const CAST_CHUNK = ${CHUNK};`,
    `/** Where the output region starts in a scratch area. */`,
    `export const CAST_OUTPUT_OFFSET = ${OUT_BASE};`,
    `/** Where the lookup table of the kernels below starts in a scratch area (65536 one-byte entries). */`,
    `export const CAST_TABLE_OFFSET = ${TABLE_BASE};`,
    `/** Bytes of a scratch area: input and output regions and the table (whole 64 KiB pages). */`,
    `export const CAST_SCRATCH_BYTES = ${SCRATCH_BYTES};`,
    `/** Kernels that read a table the engine fills first: one result per 16-bit source pattern. */`,
    `export const CAST_TABLE_KERNELS: readonly string[] = ${JSON.stringify(TABLE_KERNELS)};`,
    "/**",
    " * The module (" + shared.length + " bytes), base64: one export per cast, `<from>_<to>(n, src, dst, table)`",
    " * over n elements at byte addresses src and dst (whole groups of 16: the last group reads and writes all",
    " * 16), table the address of a table kernel's entries; its memory is imported as `env.memory`, shared.",
    " */",
    `export const CAST_MODULE_SHARED_BASE64 =`,
    `  ${JSON.stringify(base64(shared))};`,
    "/** The same kernels importing an unshared memory (for runtimes without shared memory). */",
    `export const CAST_MODULE_PRIVATE_BASE64 =`,
    `  ${JSON.stringify(base64(own))};`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  writeFileSync(
    `${root}src/engine/cpu/cast_simd.generated.ts`,
    renderCastModule(),
  );
}
