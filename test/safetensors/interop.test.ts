import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { DType } from "../../src/dtype/mod.ts";
import type { SafetensorsEntry } from "../../src/safetensors/mod.ts";
import {
  openSafetensorsFolder,
  readSafetensorsHeader,
  readSafetensorsTensor,
  writeSafetensors,
  writeSafetensorsFolder,
} from "../../src/safetensors/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import type {} from "../global_setup.ts"; // brings the typed `inject("python")`

type Manifest = Record<string, {
  metadata: Record<string, string> | null;
  tensors: Record<string, { dtype: DType; shape: number[]; hex: string }>;
}>;

const PEER = fileURLToPath(new URL("./py/st_peer.py", import.meta.url));
const peer = (...args: string[]) =>
  JSON.parse(execFileSync(inject("python"), [PEER, ...args], { encoding: "utf8", maxBuffer: 64 << 20 }));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const entriesOf = (m: Manifest[string]): SafetensorsEntry[] =>
  Object.entries(m.tensors).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: unhex(t.hex) }));

let root: string;
let manifest: Manifest;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "webdcp-st-"));
  manifest = peer("reference", root);
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("safetensors interop with the real library (safetensors 0.8, torch 2.15)", () => {
  it("reads every dtype save_file writes (incl. BF16, F8_*, 0-d, empty) bit-exactly", async () => {
    const storage = new FileStorage(root);
    for (const [file, want] of Object.entries(manifest)) {
      const src = await storage.open(file);
      const header = await readSafetensorsHeader(src);
      expect(header.metadata).toEqual(want.metadata ?? undefined);
      expect([...header.tensors.keys()].sort()).toEqual(Object.keys(want.tensors).sort());
      for (const [name, t] of Object.entries(want.tensors)) {
        const got = await readSafetensorsTensor(src, header, name);
        expect({ name, dtype: got.dtype, shape: got.shape, hex: hex(got.data) }).toEqual({ name, ...t });
      }
      await src.close();
    }
  });

  it("writes files byte-identical to save_file for the same tensors and metadata", async () => {
    const storage = new FileStorage(root);
    for (const [file, want] of Object.entries(manifest)) {
      const sink = await storage.create(`ours/${file}`);
      await writeSafetensors(sink, entriesOf(want), want.metadata ?? undefined);
      await sink.close();
      const ours = await readFile(join(root, "ours", file));
      const theirs = await readFile(join(root, file));
      expect(hex(ours), file).toBe(hex(theirs));
    }
  });

  it("writes files that safetensors.torch.load_file loads equal", async () => {
    const storage = new FileStorage(root);
    const mixed = {
      ...manifest,
      "multi_meta.safetensors": { ...manifest["no_metadata.safetensors"], metadata: { b: "1", a: "2", format: "pt" } },
    };
    for (const [file, want] of Object.entries(mixed)) {
      const sink = await storage.create(`loadable/${file}`);
      await writeSafetensors(sink, entriesOf(want), want.metadata ?? undefined);
      await sink.close();
    }
    await writeFile(join(root, "loadable.json"), JSON.stringify(mixed));
    expect(peer("check_files", join(root, "loadable"), join(root, "loadable.json"))).toEqual({ problems: [] });
  });

  it("writes a sharded folder + index that transformers-style loading (index + safe_open) reads equal", async () => {
    const storage = new FileStorage(root);
    const all = manifest["all_dtypes.safetensors"];
    const { files } = await writeSafetensorsFolder(storage, "sharded", entriesOf(all), {
      maxShardBytes: 200,
      metadata: { format: "pt" },
    });
    expect(files.length).toBeGreaterThan(2);
    await writeFile(join(root, "sharded.json"), JSON.stringify(all.tensors));
    const result = peer("check_folder", join(root, "sharded"), join(root, "sharded.json"));
    expect(result).toEqual({ problems: [], shards: files.length - 1 });
    const folder = await openSafetensorsFolder(storage, "sharded");
    for (const [name, t] of Object.entries(all.tensors)) expect(hex((await folder.readTensor(name)).data)).toBe(t.hex);
    await folder.close();
  });
});
