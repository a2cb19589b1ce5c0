#!/usr/bin/env bash
# The benchmarks on a GPU, when the machine has one: embed throughput (plain loop vs. the
# Spark embed step), the whole night per step against its bare models, and what fine-tuning
# the text encoder (LoRA and full) costs and gives.
# On a machine without a CUDA device it prints one skip line and exits 0.
#
#   benchmarks/gpu.sh            PRODUCTS=5000 ROWS=2000 CORES=$(nproc) to change the sizes
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null
then
  echo "benchmarks/gpu.sh: skipped: torch sees no CUDA device on this machine"
  exit 0
fi
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv
echo "== embed throughput (generated products with photos), device cuda"
CATALOG_ML_DEVICE=cuda "$PY" benchmarks/embed_throughput.py --rows "${ROWS:-2000}"
echo "== the night on real products with photos, device cuda"
"$PY" benchmarks/night.py --products "${PRODUCTS:-5000}" --device cuda \
  --spark-master "local[${CORES:-$(nproc)}]" --skip-incremental
echo "== fine-tuning the text encoder: frozen, LoRA and every weight, 3 epochs, device cuda"
"$PY" benchmarks/text_finetune.py --variants frozen,lora,full --epochs 3 --device cuda
