import { type DType, DTYPE_INFO, DTYPES } from "../dtype/mod.ts";
import { FormatError } from "../errors/mod.ts";
import type { GlobalHandler, GlobalResolver } from "../pickle/mod.ts";
import { PyTuple, type PyValue } from "../pickle/mod.ts";
import { checkShape, numel } from "../tensor/mod.ts";
import { MAX_EXPANSION } from "./read_tensor.ts";
import { TensorRef, TorchStorage } from "./tensor_ref.ts";
import { pyObject, TorchDType, TorchLayout, TorchStorageType } from "./tokens.ts";

function bad(message: string): never {
  throw new FormatError("E_TORCH_ARCHIVE", message);
}

function ints(v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple) && !Array.isArray(v)) bad(`${what} must be a tuple of ints`);
  const items = v instanceof PyTuple ? v.items : v;
  return items.map((x) => {
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) bad(`${what} holds ${String(x)}, not a size`);
    return x;
  });
}

/** `_rebuild_tensor_v2/v3(storage, offset, size, stride, requires_grad, hooks[, dtype][, metadata])`. */
function rebuildTensor(args: PyValue[], v3: boolean): TensorRef {
  const [storage, offset, size, stride, requiresGrad] = args;
  const dtypeArg = v3 ? args[6] : undefined;
  const metadata = v3 ? args[7] : args[6];
  if (args.length < (v3 ? 7 : 6) || args.length > (v3 ? 8 : 7)) bad(`tensor rebuild got ${args.length} arguments`);
  if (!(storage instanceof TorchStorage)) bad("tensor rebuild expects a storage as first argument");
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
    bad(`invalid storage offset ${String(offset)}`);
  }
  if (typeof requiresGrad !== "boolean") bad("requires_grad must be a bool");
  let dtype: DType;
  if (v3) {
    if (!(dtypeArg instanceof TorchDType)) bad("_rebuild_tensor_v3 expects a dtype as seventh argument");
    dtype = dtypeArg.dtype;
  } else {
    if (storage.dtype === undefined) bad("_rebuild_tensor_v2 needs a typed storage");
    dtype = storage.dtype;
  }
  const shape = checkShape(ints(size, "size"));
  const strides = ints(stride, "stride");
  if (strides.length !== shape.length) bad(`stride has ${strides.length} dims but size has ${shape.length}`);
  const { conj, neg } = tensorFlags(metadata);
  // An untyped storage counts bytes; views of it count elements of the tensor's dtype.
  const numel = storage.dtype === undefined ? Math.floor(storage.numel / DTYPE_INFO[dtype].itemsize) : storage.numel;
  if (storage.dtype !== undefined && storage.dtype !== dtype) bad(`a ${dtype} tensor views a ${storage.dtype} storage`);
  checkViewOfStorage(shape, strides, offset, numel, dtype);
  return new TensorRef(dtype, shape, strides, offset, storage.key, numel, requiresGrad, conj, neg);
}

/**
 * Sizes, strides and offset against the storage, before anything is read: every element the view reaches
 * lies inside the storage, and the dense view is no larger than its storage unless it is small (strides
 * that repeat elements, as `expand` makes, could otherwise describe terabytes with a few bytes).
 */
function checkViewOfStorage(
  shape: number[],
  strides: number[],
  offset: number,
  storageNumel: number,
  dtype: DType,
): void {
  const count = numel(shape);
  if (count === 0) {
    if (offset > storageNumel) bad(`storage offset ${offset} is past the ${storageNumel}-element storage`);
    return;
  }
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * strides[d];
  if (!Number.isSafeInteger(last) || last >= storageNumel) {
    throw new FormatError(
      "E_OUT_OF_RANGE",
      `tensor view (offset ${offset}, shape [${shape}], stride [${strides}]) reaches element ${last} of a ${storageNumel}-element storage`,
    );
  }
  const itemsize = DTYPE_INFO[dtype].itemsize;
  const dense = count * itemsize;
  if (dense > storageNumel * itemsize && dense > MAX_EXPANSION) {
    throw new FormatError(
      "E_SHAPE",
      `view [${shape}] (stride [${strides}]) of a ${
        storageNumel * itemsize
      }-byte storage would expand to ${dense} bytes`,
    );
  }
}

/** The optional metadata dict torch appends for lazily conjugated or negated views. */
function tensorFlags(metadata: PyValue | undefined): { conj: boolean; neg: boolean } {
  if (metadata === undefined) return { conj: false, neg: false };
  if (!(metadata instanceof Map)) bad("tensor metadata must be a dict");
  let conj = false;
  let neg = false;
  for (const [k, v] of metadata) {
    if (k === "conj" && typeof v === "boolean") conj = v;
    else if (k === "neg" && typeof v === "boolean") neg = v;
    else throw new FormatError("E_UNSUPPORTED", `tensor metadata '${String(k)}' is not supported`);
  }
  return { conj, neg };
}

function rebuildParameter(args: PyValue[]): TensorRef {
  const [data, requiresGrad] = args;
  if (!(data instanceof TensorRef)) bad("_rebuild_parameter expects a tensor");
  if (typeof requiresGrad !== "boolean") bad("requires_grad must be a bool");
  return data.withRequiresGrad(requiresGrad);
}

function device(args: PyValue[]): string {
  const [type, index] = args;
  if (typeof type !== "string" || args.length > 2) bad("torch.device expects (type[, index])");
  if (index === undefined || index === null) return type;
  if (typeof index !== "number" || !Number.isSafeInteger(index)) bad("torch.device index must be an int");
  return `${type}:${index}`;
}

function size(args: PyValue[]): PyTuple {
  if (args.length > 1) bad("torch.Size takes one argument");
  return new PyTuple(args.length === 0 ? [] : ints(args[0], "torch.Size"));
}

function layout(args: PyValue[]): TorchLayout {
  const [name] = args;
  if (typeof name !== "string" || args.length !== 1) bad("_get_layout expects a layout name");
  if (name !== "torch.strided") throw new FormatError("E_UNSUPPORTED", `layout ${name} is not supported`);
  return new TorchLayout(name);
}

const UNTYPED = new TorchStorageType("UntypedStorage", undefined);

const TORCH_GLOBALS: ReadonlyMap<string, object> = new Map<string, object>([
  ["torch._utils._rebuild_tensor_v2", { call: (a) => pyObject(rebuildTensor(a, false)) } satisfies GlobalHandler],
  ["torch._utils._rebuild_tensor_v3", { call: (a) => pyObject(rebuildTensor(a, true)) } satisfies GlobalHandler],
  ["torch._utils._rebuild_parameter", { call: (a) => pyObject(rebuildParameter(a)) } satisfies GlobalHandler],
  [
    "torch._utils._rebuild_parameter_with_state",
    { call: (a) => pyObject(rebuildParameter(a)) } satisfies GlobalHandler,
  ],
  ["torch.Size", { call: size } satisfies GlobalHandler],
  ["torch.device", { call: device, construct: device } satisfies GlobalHandler],
  ["torch.serialization._get_layout", { call: (a) => pyObject(layout(a)) } satisfies GlobalHandler],
  ["torch.strided", new TorchLayout("torch.strided")],
  ["torch.UntypedStorage", UNTYPED],
  ["torch.storage.UntypedStorage", UNTYPED],
  ...DTYPES.map((d) => [`torch.${d}`, new TorchDType(d)] as [string, object]),
  ...DTYPES.flatMap((d) => {
    const cls = DTYPE_INFO[d].storageClass;
    return cls ? [[`torch.${cls}`, new TorchStorageType(cls, d)] as [string, object]] : [];
  }),
]);

/**
 * The torch.save allow-list for `decodePickle`: tensor and parameter rebuilds, storage classes, dtypes,
 * `torch.Size`, `torch.device` (decoded to a string such as `"cuda:1"`), layouts. Anything else resolves to
 * undefined, so the pickle layer refuses it. Other layers compose it with their own classes.
 */
export const torchGlobals: GlobalResolver = (module: string, name: string): object | undefined =>
  TORCH_GLOBALS.get(`${module}.${name}`);
