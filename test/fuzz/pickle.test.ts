import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { DTYPE_INFO } from "../../src/dtype/mod.ts";
import { type DcpMetadata, decodeMetadata } from "../../src/dcp/mod.ts";
import { decodePickle, type GlobalResolver, type PyValue, SETSTATE } from "../../src/pickle/mod.ts";
import { checkPyValue, fuzzParameters, guarded, reportOutcomes } from "./guard.ts";
import { applyMutations, describeMutations, mutationsOf } from "./mutate.ts";
import { seed } from "./seeds.ts";

afterEach((ctx) => reportOutcomes(ctx.task.name));

/** What `AnyGlobal` builds: the call it stands for, and any BUILD state (a type alias, so it is a PyValue). */
type Built = { qualified: string; args: PyValue[]; state?: PyValue; [SETSTATE](state: PyValue): void };
const built = new WeakSet<object>();

/** Stands for any global, so the fuzz reaches every opcode past GLOBAL instead of stopping at the allow-list. */
class AnyGlobal {
  constructor(readonly qualified: string) {}
  call(args: PyValue[]): PyValue {
    return build(this.qualified, args);
  }
  construct(args: PyValue[]): PyValue {
    return build(this.qualified, args);
  }
}

/** Shared by every `Built`, so two decodes of the same bytes compare equal. */
function setState(this: Built, state: PyValue): void {
  this.state = state;
}

function build(qualified: string, args: PyValue[]): Built {
  const b: Built = { qualified, args, [SETSTATE]: setState };
  built.add(b);
  return b;
}

type Persistent = { pid: PyValue };

const anyGlobal: GlobalResolver = (module, name) => new AnyGlobal(`${module}.${name}`);
const persistents = new WeakSet<object>();
const isOurs = (o: object) => o instanceof AnyGlobal || built.has(o) || persistents.has(o);

function decodeAnything(bytes: Uint8Array, path: string): PyValue {
  const persistentLoad = (pid: PyValue): PyValue => {
    const p: Persistent = { pid };
    persistents.add(p);
    return p;
  };
  return decodePickle(bytes, { globals: anyGlobal, persistentLoad, path });
}

const tensorPkl = seed("tensor.pkl");
const metadataPkl = seed("dcp/.metadata");

describe("decodePickle() on mutated real pickles", () => {
  it("decodePickle() of the unmutated seeds gives torch's structure", () => {
    const t = decodeAnything(tensorPkl.bytes, "tensor.pkl") as Built;
    expect(t.qualified).toBe("torch._utils._rebuild_tensor_v2");
    expect((t.args[0] as Persistent).pid).toMatchObject({
      items: ["storage", { qualified: "torch.FloatStorage" }, "0", "cpu", 6],
    });
    const m = decodeAnything(metadataPkl.bytes, ".metadata") as Built;
    expect(m.qualified).toBe("torch.distributed.checkpoint.metadata.Metadata");
  });

  for (const s of [tensorPkl, metadataPkl]) {
    it(`decodePickle() returns a PyValue or a typed error on a mutated ${s.name} (any global allowed)`, async () => {
      await fc.assert(
        fc.asyncProperty(mutationsOf(s), async (ms) => {
          const input = applyMutations(s.bytes, ms);
          const out = await guarded(input.byteLength, () => decodeAnything(input, s.name));
          if (out.ok) checkPyValue(out.value, isOurs);
        }),
        fuzzParameters(500),
      );
    });

    it(`decodePickle() with only the builtin allow-list refuses or decodes a mutated ${s.name}`, async () => {
      await fc.assert(
        fc.asyncProperty(mutationsOf(s), async (ms) => {
          const input = applyMutations(s.bytes, ms);
          const out = await guarded(input.byteLength, () => decodePickle(input, { path: s.name }));
          if (out.ok) checkPyValue(out.value, () => false);
        }),
        fuzzParameters(300),
      );
    });
  }

  it("decodePickle() ignores any bytes after STOP, as CPython does", async () => {
    const original = decodeAnything(tensorPkl.bytes, "tensor.pkl");
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), async (tail) => {
        const input = new Uint8Array([...tensorPkl.bytes, ...tail]);
        const out = await guarded(input.byteLength, () => decodeAnything(input, "tensor.pkl"));
        expect(out.ok && out.value).toEqual(original);
      }),
      fuzzParameters(100),
    );
  });
});

describe("decodeMetadata() on a mutated real .metadata", () => {
  it("decodeMetadata() returns a well-formed DcpMetadata or a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(mutationsOf(metadataPkl), async (ms) => {
        const input = applyMutations(metadataPkl.bytes, ms);
        const out = await guarded(input.byteLength, () => decodeMetadata(input, "ckpt/.metadata"));
        if (out.ok) checkMetadata(out.value, describeMutations(ms));
      }),
      fuzzParameters(800),
    );
  });
});

function checkMetadata(meta: DcpMetadata, why: string): void {
  const nat = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  for (const [fqn, e] of meta.stateDictMetadata) {
    if (e.kind !== "tensor") continue;
    const ok = DTYPE_INFO[e.dtype] !== undefined && e.size.every(nat) &&
      e.chunks.every((c) =>
        c.offsets.length === e.size.length && c.sizes.length === e.size.length && c.offsets.every(nat) &&
        c.sizes.every(nat)
      );
    if (!ok) throw new Error(`malformed tensor entry ${fqn} after ${why}`);
  }
  for (const [key, s] of meta.storageData) {
    if (!nat(s.info.offset) || !nat(s.info.length) || typeof s.info.relativePath !== "string") {
      throw new Error(`malformed storage entry ${JSON.stringify(key)} after ${why}`);
    }
  }
}
