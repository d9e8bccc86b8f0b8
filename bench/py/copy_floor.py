"""The kernel's own floor for bytes that only move (issue 15), without webdcp: what `copy_file_range` costs on
this machine for the output shapes webdcp writes, against `cp -r` of the same checkpoint, in one run.

Contenders, every one once a round in a shuffled order, medians over rounds:
  - `cp -r` of the checkpoint folder (what the convert bench compares with);
  - each rank file copied whole into a file of its own (`cp -r` without the process);
  - every rank file copied into one output file, each at a page-congruent offset (as `cp` keeps them);
  - the same into one file at offsets that are not (a safetensors file's tensors sit right after one another,
    after a header of any length, so their pages cannot all line up with their sources');
  - the same through a 1 MiB buffer (pread + pwrite), for comparison;
  - with --copies FILE: the copies a webdcp run made, replayed as they were (source range, output file and
    offset), one output file per thread and all in one thread. FILE is what
    `strace -f -y -e trace=copy_file_range -o FILE <webdcp command>` printed; the output folder is written
    under OUT_DIR.

usage: python bench/py/copy_floor.py CKPT_DIR OUT_DIR [ROUNDS] [--copies FILE]
"""

import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

PAGE = 4096
BUFFER = 1 << 20
# Where a safetensors file's data would start with a 7824-byte header: not page-congruent with the sources.
UNALIGNED = 7824


def rank_files(ckpt):
    return sorted(os.path.join(ckpt, f) for f in os.listdir(ckpt) if f.endswith(".distcp"))


def copy_range(fd_in, at_in, fd_out, at_out, length):
    done = 0
    while done < length:
        n = os.copy_file_range(fd_in, fd_out, length - done, at_in + done, at_out + done)
        if n <= 0:
            raise OSError(f"copy_file_range copied {n} bytes")
        done += n


def cp_r(ckpt, out):
    subprocess.run(["cp", "-r", ckpt, out], check=True)


def whole_files(ckpt, out):
    os.mkdir(out)
    for path in rank_files(ckpt):
        with open(path, "rb") as src, open(os.path.join(out, os.path.basename(path)), "wb") as dst:
            copy_range(src.fileno(), 0, dst.fileno(), 0, os.fstat(src.fileno()).st_size)


def one_file(congruent, buffered=False):
    def run(ckpt, out):
        os.mkdir(out)
        buf = bytearray(BUFFER)
        with open(os.path.join(out, "one"), "wb") as dst:
            at = 0
            for path in rank_files(ckpt):
                # Each source starts at offset 0: the output offset decides whether their pages line up.
                at = -(-at // PAGE) * PAGE + (0 if congruent else UNALIGNED % PAGE)
                with open(path, "rb") as src:
                    size = os.fstat(src.fileno()).st_size
                    if buffered:
                        view = memoryview(buf)
                        for off in range(0, size, BUFFER):
                            n = os.preadv(src.fileno(), [view[: min(BUFFER, size - off)]], off)
                            os.pwrite(dst.fileno(), view[:n], at + off)
                    else:
                        copy_range(src.fileno(), 0, dst.fileno(), at, size)
                at += size

    return run


COPY_CALL = re.compile(r"copy_file_range\(\d+<([^>]+)>, \[(\d+)\], \d+<([^>]+)>, \[(\d+)\], (\d+), 0")


def recorded_copies(trace):
    """(source path, source offset, output name, output offset, length) of every copy in an strace log."""
    copies = []
    for line in open(trace):
        m = COPY_CALL.search(line)
        if m:
            src, at_in, dst, at_out, length = m.groups()
            name = os.path.basename(dst).split(".tmp")[0]
            copies.append((src, int(at_in), name, int(at_out), int(length)))
    if not copies:
        raise SystemExit(f"no copy_file_range calls in {trace}")
    return copies


def replay(copies, threaded):
    def run(_ckpt, out):
        os.mkdir(out)
        outputs = sorted({c[2] for c in copies})
        fds = {name: os.open(os.path.join(out, name), os.O_WRONLY | os.O_CREAT, 0o644) for name in outputs}
        sources = {src: os.open(src, os.O_RDONLY) for src in {c[0] for c in copies}}

        def work(mine):
            for src, at_in, name, at_out, length in mine:
                copy_range(sources[src], at_in, fds[name], at_out, length)

        try:
            if threaded:
                threads = [threading.Thread(target=work, args=([c for c in copies if c[2] == n],)) for n in outputs]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            else:
                work(copies)
        finally:
            for fd in [*fds.values(), *sources.values()]:
                os.close(fd)

    return run


def main():
    args = sys.argv[1:]
    copies = None
    if "--copies" in args:
        i = args.index("--copies")
        copies = recorded_copies(args[i + 1])
        del args[i : i + 2]
    ckpt, out_dir = args[0], args[1]
    rounds = int(args[2]) if len(args) > 2 else 7
    contenders = {
        "cp -r": cp_r,
        "rank files copied whole, a file each": whole_files,
        "one file, page-congruent offsets": one_file(True),
        "one file, other offsets (as safetensors)": one_file(False),
        "one file, other offsets, 1 MiB buffer": one_file(False, buffered=True),
    }
    if copies is not None:
        contenders["webdcp's copies replayed, a thread per output file"] = replay(copies, True)
        contenders["webdcp's copies replayed, one thread"] = replay(copies, False)
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "copy-floor")
    times = {name: [] for name in contenders}
    cpu = {name: [] for name in contenders}
    rng = random.Random(15)
    for r in range(rounds):
        order = list(contenders)
        rng.shuffle(order)
        for name in order:
            shutil.rmtree(out, ignore_errors=True)
            time.sleep(0.5)
            c0, t0 = os.times(), time.perf_counter()
            contenders[name](ckpt, out)
            t1, c1 = time.perf_counter(), os.times()
            times[name].append(t1 - t0)
            cpu[name].append(sum(c1[:4]) - sum(c0[:4]))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    shutil.rmtree(out, ignore_errors=True)
    cp = times["cp -r"]
    print("| contender | wall (median, best) | CPU (median) | ratio to cp -r (median over rounds) |")
    print("| --- | --- | --- | --- |")
    for name, ts in times.items():
        ratio = statistics.median(t / c for t, c in zip(ts, cp))
        print(f"| {name} | {statistics.median(ts):.3f} s ({min(ts):.3f}) | {statistics.median(cpu[name]):.2f} s | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
