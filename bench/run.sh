#!/usr/bin/env bash
# One command for every benchmark (`npm run bench`): builds the checkpoints with real torch when missing,
# runs the engine bench, then webdcp and PyTorch on the same files in one run, prints the table
# (ours, PyTorch, ratio, peak memory) and appends a dated section to bench/RESULTS.md.
#   BENCH_READ_MIB     size of the read-bench checkpoint (default 1024)
#   BENCH_CONVERT_MIB  size of the convert/reshard checkpoint (default 2048, at least 2 GiB per issue #3)
#   BENCH_RUNS         runs per side of the read bench, the best kept (default 3)
#   BENCH_ROUNDS       rounds of the convert/reshard bench, every contender once a round (default 5)
#   BENCH_S3_ROUNDS    rounds of the S3 benches (bench/s3.bench.ts, bench/s3_scale.bench.ts; default 3)
# bench/s3.bench.ts runs against moto and, where Go is installed, gofakes3 (bench/go/s3server) and SeaweedFS
# (bench/go/seaweedfs: its first build takes a few minutes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

read_mib="${BENCH_READ_MIB:-1024}"
convert_mib="${BENCH_CONVERT_MIB:-2048}"
runs="${BENCH_RUNS:-3}"
rounds="${BENCH_ROUNDS:-5}"

# Peak memory comes from GNU time's -v report (Debian package `time`).
if [ ! -x /usr/bin/time ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq time >/dev/null
fi

PYTHON="$(bash test/interop/venv.sh)/bin/python"
export PYTHON
deno="npx deno"

build() { # DIR MIB
  if [ ! -f "$1/.metadata" ]; then
    echo "building $1 ($2 MiB, 4 gloo ranks, real torch dcp.save)..." >&2
    rm -rf "$1" "$1.partial"
    "$PYTHON" bench/py/make_checkpoint.py "$1" "$2"
  fi
}
read_dir="bench/data/llama-${read_mib}m"
convert_dir="bench/data/llama-${convert_mib}m"
mkdir -p bench/data
build "$read_dir" "$read_mib"
build "$convert_dir" "$convert_mib"

if [ -f bench/engine.bench.ts ]; then
  echo "== engine (bench/engine.bench.ts, appends its own section)" >&2
  DENO_WEBGPU_BACKEND=gl $deno run -A bench/engine.bench.ts || echo "warning: bench/engine.bench.ts failed" >&2
fi

BENCH_RESULTS="$(mktemp /tmp/webdcp-bench-XXXXXX.jsonl)"
export BENCH_RESULTS
trap 'rm -f "$BENCH_RESULTS"' EXIT
echo "== read: webdcp vs dcp.load (bench/read.bench.ts)" >&2
$deno run -A bench/read.bench.ts "$read_dir" "$runs"
echo "== convert and reshard: webdcp CLI vs PyTorch and cp -r (bench/convert.bench.ts)" >&2
$deno run -A bench/convert.bench.ts "$convert_dir" "$rounds"
echo "== S3 bucket to bucket: webdcp convert vs PyTorch through fsspec and aws s3 cp (bench/s3.bench.ts)" >&2
$deno run -A bench/s3.bench.ts "$read_dir" "${BENCH_S3_ROUNDS:-3}"

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
ram="$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
load="$(cut -d' ' -f1-3 /proc/loadavg)"
torch_version="$("$PYTHON" -c 'import torch; print(torch.__version__)')"
machine="$(nproc) cores ($cpu), $ram RAM, load average $load at the end; $($deno --version | head -1), Python torch $torch_version"
$deno run -A bench/report.ts "$BENCH_RESULTS" "npm run bench (BENCH_READ_MIB=$read_mib BENCH_CONVERT_MIB=$convert_mib BENCH_RUNS=$runs BENCH_ROUNDS=$rounds)" "$machine"
echo "== S3 scale-out: one machine vs a 4-task Slurm array + finalize (bench/s3_scale.bench.ts, appends its own section)" >&2
$deno run -A bench/s3_scale.bench.ts "$read_dir" "${BENCH_S3_ROUNDS:-3}"
