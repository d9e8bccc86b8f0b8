import type { PyValue } from "./value.ts";

type Dict = Map<PyValue, PyValue>;

/**
 * Instance attributes (`__dict__`) pickled with an `OrderedDict`: a module's `state_dict()` carries its
 * `_metadata` (per-module versions that `load_state_dict` uses to upgrade old formats) this way. Kept beside
 * the `Map` rather than in it, so the dict's items stay exactly the pickled items.
 */
const ATTRIBUTES = new WeakMap<Dict, Dict>();

/** The attributes pickled with `dict`, if any. */
export function dictAttributes(dict: Dict): Dict | undefined {
  return ATTRIBUTES.get(dict);
}

/** Gives `dict` attributes, which `encodePickle` writes as an `OrderedDict` with that state. */
export function setDictAttributes(dict: Dict, attributes: Dict): void {
  ATTRIBUTES.set(dict, attributes);
}
