import { readFileSync } from "node:fs";

/**
 * The committed seed files (written by real torch / safetensors through `py/make_seeds.py`) and the map of
 * their structure that the same script computed with Python's own `pickletools` and `struct`.
 */
export interface SeedMap {
  /** Little-endian integer fields (lengths, offsets, counts, memo indices) by width in bytes. */
  le: Record<string, number[]>;
  /** Decimal numbers inside JSON text: `[at, digits]`. */
  dec: [number, number][];
  /** Raw bytes of one tensor storage: `[at, length, name]` (the name of a tensor that owns it). */
  tensors: [number, number, string][];
  /** torch's "FB" alignment padding inside local zip headers: bytes no reader may interpret. */
  padding: [number, number][];
  /** Pickle streams (`data.pkl` records, `.metadata`): `[at, length]`. */
  pickles: [number, number][];
}

export interface Seed {
  name: string;
  bytes: Uint8Array;
  map: SeedMap;
}

export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  hex: string;
}

const dir = new URL("./seeds/", import.meta.url);
const maps = JSON.parse(readFileSync(new URL("map.json", dir), "utf8")) as Record<string, SeedMap>;
const EMPTY_MAP: SeedMap = { le: {}, dec: [], tensors: [], padding: [], pickles: [] };

/** One seed file by its path under `seeds/` (e.g. `dcp/.metadata`). Each call returns a fresh copy. */
export function seed(name: string): Seed {
  return { name, bytes: new Uint8Array(readFileSync(new URL(name, dir))), map: maps[name] ?? EMPTY_MAP };
}

/** What torch itself says each seed tensor holds: `expected[group][tensor name]`. */
export const expected = JSON.parse(readFileSync(new URL("expected.json", dir), "utf8")) as Record<
  string,
  Record<string, ExpectedTensor>
>;

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
