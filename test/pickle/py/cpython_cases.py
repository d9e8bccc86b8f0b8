"""Pickles the values of test/pickle/cpython.test.ts with real CPython (and torch) and writes their bytes.

Usage: python cpython_cases.py OUT_DIR  ->  OUT_DIR/cases.json: {case: {"2": hex, "3": hex, "4": hex, "5": hex}}
plus "torch_data_pkl" (data.pkl of a real torch.save) and "dcp_metadata" (a real DCP .metadata).
       python cpython_cases.py --equal A B  ->  prints "equal" when pickle.load of both files gives equal values.
"""
import collections
import io
import json
import os
import pickle
import sys
import zipfile


def make_vec(*parts):
    return ("vec",) + parts


class Vec:
    def __init__(self, *parts):
        self.parts = parts

    def __reduce__(self):
        return (make_vec, self.parts)


class Rec:
    pass


def canon(value, strings, seen):
    """Rebuilds containers so that equal strings are one object, as the TypeScript encoder assumes."""
    if isinstance(value, str):
        return strings.setdefault(value, value)
    if id(value) in seen:
        return seen[id(value)]
    if type(value) is list:
        out = []
        seen[id(value)] = out
        out.extend(canon(v, strings, seen) for v in value)
    elif type(value) is tuple:
        out = tuple(canon(v, strings, seen) for v in value)
    elif type(value) is dict:
        out = {}
        seen[id(value)] = out
        for k, v in value.items():
            out[canon(k, strings, seen)] = canon(v, strings, seen)
    else:
        return value
    seen[id(value)] = out
    return out


def cases():
    shared = (1, "shared")
    blob = bytes(range(256))
    vec = Vec(1, 2, "x")
    rec = Rec()
    rec.alpha = 1
    rec.beta = "x"
    names = ["s%d" % i for i in range(300)]
    return {
        "scalars": [None, True, False, 0, 1, 255, 256, 65535, 65536, -1, -256, 2**31 - 1, -2**31, 2**31,
                    -2**31 - 1, 2**53, 2**63, -2**63, 2**64 + 5, -(2**100), 2**2100, -(2**2100), 0.5, -1.25,
                    1.0, 0.0, -0.0, 1e300, float("inf"), float("-inf"), 1e-310],
        "strings": ["", "a", "hello", "\u00e9", "\u65e5\u672c\u8a9e", "\U0001F600", "x" * 300, "\x00nul",
                    "lone \ud800 surrogate", "\ufeffbom"],
        "bytes": [b"", b"a", "a", b"\x00\x80\xff", blob, blob, b"latin1"],
        "containers": {"k": [1, (2, 3), {"z": None}], "t0": (), "t1": (1,), "t2": (1, 2), "t3": (1, 2, 3),
                       "t4": (1, 2, 3, 4), "el": [], "one": [7], "ed": {}, "od": {"q": 1}, 5: "int key",
                       (1, 2): "tuple key", "nested": [[[[]]]]},
        "batches": [list(range(1001)), {"k%d" % i: i for i in range(1000)}, {"j%d" % i: i for i in range(1001)},
                    list(range(1000))],
        "memo_long": [names, names[::-1], names],
        "shared": {"x": shared, "y": shared, "z": [shared, shared], "w": "shared"},
        "set": {1, 2, 3},
        "objects": [vec, rec, vec, Rec()],
        "bytearray_complex": [bytearray(b"ab"), bytearray(), complex(1, 2), complex(0.5, -0.0)],
        "frames": ["a", "y" * 70000, "b", ["z" * 100 + str(i) for i in range(1500)], b"q" * 70000],
        "frozenset": frozenset([4]),
        "ordered_dict": collections.OrderedDict([("a", 1), ("b", [2])]),
    }


def torch_files(out):
    import torch
    import torch.distributed.checkpoint as dcp

    buf = io.BytesIO()
    torch.save({"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(3, dtype=torch.bfloat16)}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        result = {"torch_data_pkl": z.read(name).hex()}
    ckpt = os.path.join(out, "dcp")
    dcp.save({"w": torch.ones(4, 2), "step": 7, "name": "run"}, checkpoint_id=ckpt, no_dist=True)
    with open(os.path.join(ckpt, ".metadata"), "rb") as f:
        result["dcp_metadata"] = f.read().hex()
    return result


def main():
    if sys.argv[1] == "--equal":
        import torch.distributed.checkpoint  # noqa: F401  (the classes a .metadata names)

        with open(sys.argv[2], "rb") as a, open(sys.argv[3], "rb") as b:
            print("equal" if pickle.load(a) == pickle.load(b) else "different")
        return
    out = sys.argv[1]
    result = {}
    for name, value in cases().items():
        value = canon(value, {}, {})
        result[name] = {str(p): pickle.dumps(value, protocol=p).hex() for p in (2, 3, 4, 5)}
    result.update(torch_files(out))
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
