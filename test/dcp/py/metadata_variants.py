"""Re-pickles a real torch .metadata in the forms older PyTorch / other CPython versions produce, so the
reader can be checked against each: protocol 2, the enum name form (builtins.getattr), 1.13-era module
paths with a 5-tuple TensorProperties and no storage_meta/version/planner_data, pathlib._local paths,
and a transform_descriptors entry.

usage: metadata_variants.py <in .metadata> <out dir>
"""
import os
import pickle
import sys

import torch.distributed.checkpoint.metadata as md


def dump(obj, name: str, out: str, replace=()) -> None:
    data = pickle.dumps(obj, protocol=2)
    for old, new in replace:
        data = data.replace(old, new)
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        meta = pickle.load(f)
    dump(meta, "proto2.metadata", out)

    orig_reduce = md._MEM_FORMAT_ENCODING.__reduce_ex__
    md._MEM_FORMAT_ENCODING.__reduce_ex__ = lambda self, proto: (getattr, (type(self), self._name_))
    dump(meta, "name_enum.metadata", out)
    md._MEM_FORMAT_ENCODING.__reduce_ex__ = orig_reduce

    dump(meta, "pathlib_local.metadata", out, [(b"cpathlib\nPosixPath\n", b"cpathlib._local\nPosixPath\n")])

    orig_getstate = md.TensorProperties.__getstate__
    md.TensorProperties.__getstate__ = lambda self: orig_getstate(self)[:5]
    old = md.Metadata.__new__(md.Metadata)
    old.__dict__.update(state_dict_metadata=meta.state_dict_metadata, planner_data=None, storage_data=meta.storage_data)
    dump(old, "old_paths.metadata", out, [
        (b"torch.distributed.checkpoint.metadata\nTensorProperties\n",
         b"torch.distributed._shard.sharded_tensor.metadata\nTensorProperties\n"),
        (b"torch.distributed.checkpoint.metadata\n_MEM_FORMAT_ENCODING\n",
         b"torch.distributed._shard.sharded_tensor.metadata\nMEM_FORMAT_ENCODING\n"),
        (b"torch.distributed.checkpoint.metadata\n", b"torch.distributed._shard.checkpoint.metadata\n"),
        (b"torch.distributed.checkpoint.filesystem\n", b"torch.distributed._shard.checkpoint.filesystem\n"),
    ])
    md.TensorProperties.__getstate__ = orig_getstate

    first = next(iter(meta.storage_data.values()))
    first.transform_descriptors = ["stream.zstd/1"]
    dump(meta, "transforms.metadata", out)


if __name__ == "__main__":
    main()
