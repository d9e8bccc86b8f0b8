/**
 * The allow-list of globals a `.metadata` pickle may name, under every module path PyTorch has used, and
 * the raw values they build. Anything else makes `decodePickle` fail with E_PICKLE_GLOBAL.
 */
import { isDType } from "../dtype/mod.ts";
import type { DType } from "../dtype/mod.ts";
import { FormatError, PickleError } from "../errors/mod.ts";
import type { GlobalHandler } from "../pickle/mod.ts";
import { PyTuple, SETSTATE } from "../pickle/mod.ts";
import type { PyValue } from "../pickle/mod.ts";

/** A DCP dataclass instance as unpickled: its class name and whatever `BUILD` handed it. */
// The index signatures make these classes members of PyValue's "object built by a global" case.
export class PickledRecord {
  readonly [key: string]: unknown;
  state: PyValue | undefined = undefined;
  constructor(readonly className: string) {}
  [SETSTATE](state: PyValue): void {
    this.state = state;
  }
}

/** `torch.<dtype>` pushed as a bare global. */
export class DtypeToken {
  constructor(readonly dtype: DType) {}
}

/** `torch.strided` etc. via `torch.serialization._get_layout("torch.strided")`. */
export class LayoutToken {
  readonly [key: string]: unknown;
  constructor(readonly name: string) {}
}

/** A `_MEM_FORMAT_ENCODING` / `MEM_FORMAT_ENCODING` member (value form or `getattr` name form). */
export class MemFormatToken {
  readonly [key: string]: unknown;
  constructor(readonly value: number) {}
}

const MEM_FORMAT_NAMES = ["TORCH_CONTIGUOUS_FORMAT", "TORCH_CHANNELS_LAST", "TORCH_PRESERVE_FORMAT"];

const METADATA_MODULES = [
  "torch.distributed.checkpoint.metadata",
  "torch.distributed._shard.checkpoint.metadata",
];
const DATACLASSES = [
  "Metadata",
  "TensorStorageMetadata",
  "BytesStorageMetadata",
  "ChunkStorageMetadata",
  "MetadataIndex",
  "StorageMeta",
  "TensorProperties",
];
const FILESYSTEM_MODULES = [
  "torch.distributed.checkpoint.filesystem",
  "torch.distributed._shard.checkpoint.filesystem",
];
const SHARDED_TENSOR_METADATA = "torch.distributed._shard.sharded_tensor.metadata";

type Handler = GlobalHandler;

function record(className: string): Handler {
  return { construct: () => new PickledRecord(className) };
}

const memFormatEnum: Handler = {
  call(args) {
    const v = args[0];
    if (typeof v !== "number" || !(v in MEM_FORMAT_NAMES)) {
      throw new FormatError("E_METADATA", `unknown memory format encoding ${String(v)}`);
    }
    return new MemFormatToken(v);
  },
};

/** Only `getattr(<memory-format enum>, "<member>")`, the enum name form some CPython 3.11 releases emit. */
const getattrHandler: Handler = {
  call(args) {
    const obj = args[0];
    const v = MEM_FORMAT_NAMES.indexOf(args[1] as string);
    if (obj !== memFormatEnum || v < 0) {
      throw new PickleError("E_PICKLE_GLOBAL", `builtins.getattr is only allowed on the memory-format enum`);
    }
    return new MemFormatToken(v);
  },
};

const sizeHandler: Handler = {
  call(args) {
    const dims = args[0];
    if (!(dims instanceof PyTuple || Array.isArray(dims)) || args.length !== 1) {
      throw new FormatError("E_METADATA", "torch.Size expects one tuple of ints");
    }
    return dims instanceof PyTuple ? dims.items : dims;
  },
};

const layoutHandler: Handler = {
  call(args) {
    return new LayoutToken(String(args[0]));
  },
};

/** `PosixPath("/", "a", "b")` (CPython <= 3.12) or `PosixPath("/a/b")` (3.13): joined back into a str. */
const pathHandler: Handler = {
  call(args) {
    const parts = args.map(String);
    if (parts.length === 0) return ".";
    const [head, ...rest] = parts;
    return head.endsWith("/") || head.endsWith("\\") ? head + rest.join("/") : parts.join("/");
  },
};

const dtypeTokens = new Map<string, DtypeToken>();

/** The resolver handed to `decodePickle` for `.metadata`. */
export function metadataGlobals(module: string, name: string): Handler | DtypeToken | undefined {
  if (METADATA_MODULES.includes(module)) {
    if (DATACLASSES.includes(name)) return record(name);
    if (name === "_MEM_FORMAT_ENCODING") return memFormatEnum;
  }
  if (module === SHARDED_TENSOR_METADATA) {
    if (name === "TensorProperties") return record(name);
    if (name === "MEM_FORMAT_ENCODING") return memFormatEnum;
  }
  if (FILESYSTEM_MODULES.includes(module) && name === "_StorageInfo") return record(name);
  if ((module === "pathlib" || module.startsWith("pathlib.")) && /^(Pure)?(Posix|Windows)?Path$/.test(name)) {
    return pathHandler;
  }
  if ((module === "builtins" || module === "__builtin__") && name === "getattr") return getattrHandler;
  if (module === "torch") {
    if (name === "Size") return sizeHandler;
    if (isDType(name)) {
      let token = dtypeTokens.get(name);
      if (!token) dtypeTokens.set(name, token = new DtypeToken(name));
      return token;
    }
  }
  if (module === "torch.serialization" && name === "_get_layout") return layoutHandler;
  return undefined;
}
