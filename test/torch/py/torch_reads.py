"""Loads each given .pt with torch.load(weights_only=True), also memory-mapped, and prints their descriptions."""
import json
import os
import sys
import warnings
import zipfile

import torch

sys.path.insert(0, os.path.dirname(__file__))
from describe import describe  # noqa: E402


def main():
    warnings.filterwarnings("ignore", message="ComplexHalf support is experimental")
    result = {}
    for path in sys.argv[1:]:
        assert zipfile.ZipFile(path).testzip() is None
        value = describe(torch.load(path, weights_only=True))
        # mmap reads storages straight at their aligned offsets, so it also checks the zip layout.
        assert describe(torch.load(path, weights_only=True, mmap=True)) == value
        result[os.path.basename(path)] = value
    json.dump(result, sys.stdout)


main()
