#!/usr/bin/env bash
# One GPU, at most 9 minutes: DL-Delta-1 at the paper preset for as much of its schedule as fits,
# Table IV's face RMSE on the calibrated test pairs, float16 weights and a JSON in $OUT
# (benchmarks/gpu_paper_run.py says what and how). Extra arguments go to it, e.g. --dry-run (CPU, tiny).
#   OUT=/path/to/out bash benchmarks/gpu_paper_run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
if [ ! -x "$PY" ]; then PY="$(command -v python3)"; fi
: "${OUT:=results/gpu_run}"
if command -v nvidia-smi >/dev/null 2>&1; then
  mkdir -p "$OUT" && nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
fi
exec timeout 570 "$PY" -m benchmarks.gpu_paper_run --out "$OUT" "$@"
