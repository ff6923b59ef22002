#!/usr/bin/env bash
# One-GPU speed check, under 8 minutes: the benchmark's JSON lines (official, eager, default, cuda_graph at
# 256 px, with peak memory), a 2-minute training of vangogh2photo-mini with the default settings (steps/s),
# then cyclegan-test throughput on its test images (compiled by default on CUDA; compile time apart).
#   bash scripts/gpu_check.sh            on a machine with a CUDA GPU
#   bash scripts/gpu_check.sh --dry-run  tiny sizes on the CPU: checks that every stage runs, anywhere
# DATA=folder overrides the dataset (default: ../shared/data/vangogh2photo-mini or shared/data/...).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python}"
OUT="$(mktemp -d -t gpu_check.XXXXXX)"
trap 'rm -rf "$OUT"' EXIT

if [ "${1:-}" = "--dry-run" ]; then
  DEV=cpu GPU=-1 SIZE=32 TRAIN_S=90 TEST_BATCH=2 PRINT_FREQ=1
  NET=(--ngf 4 --ndf 4 --netG resnet_6blocks)
  BENCH=(--warmup 0 --repeats 1 --test_batch 2 --num_workers 1 --no_gemm) BENCH_LIMIT=1200
  TRAIN=(--load_size 36 --crop_size 32 --num_threads 1)
else
  if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA GPU on this machine (run with --dry-run to check the script on the CPU)" >&2
    exit 2
  fi
  DEV=cuda GPU=0 SIZE=256 TRAIN_S=120 TEST_BATCH=8 PRINT_FREQ=50
  NET=()
  BENCH=(--warmup 10 --repeats 30 --test_batch 64) BENCH_LIMIT=300
  TRAIN=()
fi
if [ -z "${DATA:-}" ]; then
  for d in ../shared/data/vangogh2photo-mini shared/data/vangogh2photo-mini; do
    [ -d "$d/trainA" ] && DATA="$d" && break
  done
fi

echo "== 1/3 benchmark on $DEV, ${SIZE} px: one JSON line per configuration =="
"$PY" -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
timeout "$BENCH_LIMIT" "$PY" -m cyclegan.benchmark --device "$DEV" --size "$SIZE" "${NET[@]}" "${BENCH[@]}" \
  --configs official,eager,default,cuda_graph 2> "$OUT/bench.err" || { tail -20 "$OUT/bench.err" >&2; exit 1; }

if [ -z "${DATA:-}" ]; then
  echo "== 2/3 and 3/3 skipped: no vangogh2photo-mini (set DATA=folder with trainA/trainB/testA/testB) =="
  exit 0
fi
echo "== 2/3 training ${TRAIN_S} s on $DATA with the default settings =="
start=$(date +%s)
timeout --preserve-status -s INT -k 30 "$TRAIN_S" "$PY" -m cyclegan.train --dataroot "$DATA" --name gpu_check \
  --checkpoints_dir "$OUT/ck" --gpu_ids "$GPU" --display_id 0 --no_html --print_freq "$PRINT_FREQ" --n_epochs 1000 \
  --n_epochs_decay 0 --seed 0 "${NET[@]}" "${TRAIN[@]}" > "$OUT/train.log" 2>&1 || true
elapsed=$(( $(date +%s) - start ))
grep -E "CUDA graph step|speed settings" "$OUT/train.log" || true
"$PY" - "$OUT/ck/gpu_check/loss_log.txt" "$OUT/train.log" "$elapsed" <<'EOF'
import re, sys
log, train_log, elapsed = open(sys.argv[1]).read(), open(sys.argv[2]).read(), float(sys.argv[3])
times = [float(t) for t in re.findall(r"time: ([0-9.]+)", log)]
stop = re.findall(r"iteration (\d+)", train_log)
if not times:
    sys.exit("gpu_check: no loss_log line was written; the end of the training log:\n" + train_log[-2000:])
steady = sorted(times[len(times) // 2:])[len(times[len(times) // 2:]) // 2]  # median of the second half
print(f"training: steady state {1 / steady:.3g} steps/s ({steady * 1e3:.1f} ms per batch-1 step, median of "
      f"the last {len(times) - len(times) // 2} print_freq windows); {stop[-1] if stop else '?'} images in "
      f"{elapsed:.0f} s wall, start-up, warm-up and capture included")
EOF

echo "== 3/3 cyclegan-test on $DATA/testA and testB (batch $TEST_BATCH: 40 testB images, one compiled shape) =="
"$PY" -m cyclegan.test --dataroot "$DATA" --name gpu_check --checkpoints_dir "$OUT/ck" --results_dir "$OUT/res" \
  --gpu_ids "$GPU" --batch_size "$TEST_BATCH" "${TRAIN[@]}" > "$OUT/test.log" 2>&1 || { tail -20 "$OUT/test.log" >&2; exit 1; }
grep -E "torch.compile" "$OUT/test.log" || true
grep -oE "[0-9]+ images translated in [^<]*" "$OUT/res/gpu_check/test_latest/index.html" | head -1
