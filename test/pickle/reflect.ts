import {
  type GlobalHandler,
  type GlobalResolver,
  PyGlobal,
  PyObject,
  PyPersistent,
  PyReduce,
  PyTuple,
  type PyValue,
  SETSTATE,
} from "../../src/pickle/mod.ts";

/**
 * A test resolver that turns every global back into the encoder's model (`PyGlobal`, `PyReduce`,
 * `PyObject`), so a decoded pickle can be re-encoded and compared with the bytes it came from.
 */
class ReflectedGlobal extends PyGlobal implements GlobalHandler {
  call(args: PyValue[]): PyValue {
    return new PyReduce(this, new PyTuple(args));
  }
  construct(args: PyValue[]): PyValue {
    if (args.length > 0) throw new Error("PyObject only models NEWOBJ with empty arguments");
    return new ReflectedObject(this);
  }
}

class ReflectedObject extends PyObject {
  [SETSTATE](state: PyValue): void {
    (this as { state?: PyValue }).state = state;
  }
}

/** Reflects every global, or only those `skip` does not claim (e.g. the builtin allow-list). */
export function reflectGlobals(skip: (qualified: string) => boolean = () => false): GlobalResolver {
  const seen = new Map<string, ReflectedGlobal>();
  return (module, name) => {
    const key = `${module}.${name}`;
    if (skip(key)) return undefined;
    let g = seen.get(key);
    if (g === undefined) seen.set(key, g = new ReflectedGlobal(module, name));
    return g;
  };
}

export const reflectPersistent = (pid: PyValue): PyValue => new PyPersistent(pid);

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
