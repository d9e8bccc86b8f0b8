"""Loads two .metadata files with plain pickle (as torch's reader does) and reports whether they describe
the same checkpoint (storage_meta aside), plus each file's protocol and the globals it names in order.

usage: compare_metadata.py <ours> <torch's>   (prints JSON)
"""
import json
import pickle
import pickletools
import sys


class RecordingUnpickler(pickle.Unpickler):
    def __init__(self, f):
        super().__init__(f)
        self.globals_seen = []

    def find_class(self, module, name):
        if f"{module}.{name}" not in self.globals_seen:
            self.globals_seen.append(f"{module}.{name}")
        return super().find_class(module, name)


def shape(path: str):
    with open(path, "rb") as f:
        data = f.read()
    ops = list(pickletools.genops(data))
    with open(path, "rb") as f:
        u = RecordingUnpickler(f)
        value = u.load()
    return value, {"protocol": ops[0][1], "frames": sum(op.name == "FRAME" for op, _, _ in ops), "globals": u.globals_seen}


def main() -> None:
    ours, ours_shape = shape(sys.argv[1])
    real, real_shape = shape(sys.argv[2])
    same_fields = all(getattr(ours, f) == getattr(real, f) for f in ("state_dict_metadata", "planner_data", "storage_data", "version"))
    same_keys = list(ours.state_dict_metadata) == list(real.state_dict_metadata)
    print(json.dumps({
        "equal": same_fields and same_keys,
        "storage_meta_type": type(ours.storage_meta).__name__,
        "checkpoint_id": str(ours.storage_meta.checkpoint_id) if ours.storage_meta else None,
        "ours": ours_shape,
        "torch": real_shape,
    }))


if __name__ == "__main__":
    main()
