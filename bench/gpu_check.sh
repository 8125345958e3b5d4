#!/usr/bin/env bash
# The standing GPU checks in one call (bench/README.md, "GPU checks"):
#
#   python -m bench.gpu_check prepare          # once: real-sequence shards in .gpucheck/real
#   bench/gpu_check.sh OUT [run options]       # on the GPU machine; OUT gets the JSON and table
#   bench/gpu_check.sh OUT --quick --allow-cpu # the same code paths, tiny sizes, on a CPU
#
# PYTHON picks the interpreter (default python3). GPU_CHECK_WHEELS=DIR first installs the wheels
# in DIR into a private folder (for GPU nodes without a package index). GPU_CHECK_TIMEOUT (s,
# default 520) is a hard stop; the script itself starts no section past its --budget-s.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/gpu_check.sh OUT [run options]}
shift
mkdir -p "$out"
py=${PYTHON:-python3}
if [[ -n "${GPU_CHECK_WHEELS:-}" ]]; then
  site=$(mktemp -d)
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" \
    "$GPU_CHECK_WHEELS"/*.whl
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/workflow/scripts:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/nvidia-smi.csv"
fi
# SIGINT, not SIGTERM: the checks then still write gpu_check.md from what they measured
timeout -s INT "${GPU_CHECK_TIMEOUT:-520}" "$py" -m bench.gpu_check run --out "$out" "$@" 2>&1 \
  | tee "$out/gpu_check.log"
