#!/usr/bin/env bash
# The GPU checks in one command, on one CUDA GPU, in under 8 minutes (each step has its own time limit):
#   bash benchmarks/gpu_check.sh [--dry-run] [OUT]
# writes OUT/ (default gpu-check/): the gpu tests' log, JSON figures per step, and summary.txt with the
# targets (benchmarks/RESULTS.md): 1024x1024 text to image with guidance, 50 steps, full-size model in
# bfloat16 within 1.25x of the compute floor; at least 1.5x faster than plain attention; peak GPU memory
# under 16 GB with model CPU offload. --dry-run prints the plan and checks that every step's command
# parses and starts (each --help), without touching CUDA.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; shift; fi
OUT=${1:-gpu-check}

# name | time limit (s) | command
STEPS=(
  "gpu-tests|120|$PY -m pytest -q -m gpu tests/perf tests/engine"
  "t2i1024-flex|150|$PY -m benchmarks.run --device cuda --sizes full --cases t2i1024 --steps 50 --repeats 2 --step-repeats 5 --offload --json $OUT/t2i1024-flex.json"
  "t2i1024-eager|90|$PY -m benchmarks.run --device cuda --sizes full --cases t2i1024 --steps 50 --repeats 1 --step-repeats 5 --ours chunked --json $OUT/t2i1024-eager.json"
  "t2i1024-compiled|90|$PY -m benchmarks.run --device cuda --sizes full --cases t2i1024 --steps 50 --repeats 1 --step-repeats 5 --compile blocks --json $OUT/t2i1024-compiled.json"
  "app-request|30|$PY -m benchmarks.gpu_app_request --device cuda --json $OUT/app-request.json"
)

if [[ $DRY == 1 ]]; then
  echo "plan (output in $OUT/):"
  for step in "${STEPS[@]}"; do IFS='|' read -r name limit cmd <<<"$step"; echo "  $name (${limit}s): $cmd"; done
  for step in "${STEPS[@]}"; do
    IFS='|' read -r name limit cmd <<<"$step"
    # Everything up to the first CUDA call: the module imports and parses its arguments.
    help=${cmd%% --device*}; help=${help%% -q*}
    if [[ $name == gpu-tests ]]; then
      $PY -m pytest --collect-only -q -m gpu tests/perf tests/engine >/dev/null || { echo "FAIL $name"; exit 1; }
    else
      $help --help >/dev/null || { echo "FAIL $name"; exit 1; }
    fi
    echo "ok   $name starts"
  done
  exit 0
fi

$PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU here: run with --dry-run')" || exit 2
mkdir -p "$OUT"
status=0
for step in "${STEPS[@]}"; do
  IFS='|' read -r name limit cmd <<<"$step"
  echo "== $name (limit ${limit}s)"
  start=$SECONDS
  timeout "$limit" bash -c "$cmd" >"$OUT/$name.log" 2>&1
  rc=$?
  echo "   exit $rc after $((SECONDS - start)) s (log: $OUT/$name.log)"
  [[ $rc == 0 ]] || status=1
done
$PY -m benchmarks.gpu_app_request --summary "$OUT" | tee "$OUT/summary.txt"
exit $status
