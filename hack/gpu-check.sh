#!/usr/bin/env bash
# make gpu-check: on a machine with an NVIDIA GPU and driver, build
# kis-gpu-exporter, run it for a few seconds (under a small GPU load when
# PyTorch with CUDA is available), scrape it, and check the series against
# nvidia-smi. Prints every check with PASS/FAIL; exits non-zero on a FAIL.
# On a GPU machine without Go, build the exporter elsewhere (cgo, linux/amd64)
# and name it: KIS_GPU_EXPORTER=path/to/kis-gpu-exporter hack/gpu-check.sh
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
export CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations"
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
fails=0
check() { # check <description> <command...>
  local what=$1; shift
  if "$@"; then echo "PASS  $what"; else echo "FAIL  $what"; fails=$((fails + 1)); fi
}

if ! command -v nvidia-smi >/dev/null; then
  echo "no nvidia-smi: this check needs a machine with an NVIDIA GPU and driver" >&2
  exit 2
fi
nvidia-smi --query-gpu=index,name,memory.total,memory.used,utilization.gpu --format=csv
EXPORTER=${KIS_GPU_EXPORTER:-}
if [[ -n $EXPORTER && ! -x $EXPORTER ]]; then
  echo "KIS_GPU_EXPORTER=$EXPORTER: not an executable file" >&2
  exit 2
fi
if [[ -z $EXPORTER ]]; then
  EXPORTER=$WORK/kis-gpu-exporter
  (cd "$ROOT" && go build -o "$EXPORTER" ./cmd/kis-gpu-exporter) || exit 1
fi

if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "starting a small GPU load (PyTorch matmuls, ~1 GiB)"
  python3 - <<'PY' &
import time, torch
a = torch.randn(8192, 8192, device="cuda")
end = time.time() + 20
while time.time() < end:
    a = (a @ a).tanh()
torch.cuda.synchronize()
PY
  PIDS+=($!)
  LOAD=1
else
  echo "PyTorch with CUDA not available: checking an idle GPU (no per-process memory expected)"
  LOAD=0
fi

mkdir -p "$WORK/models/llama-3.1-8b"
"$EXPORTER" --listen-address=127.0.0.1:19400 --hostname=gpu-check --model-cache-dir="$WORK/models" --pod-resources-socket= >"$WORK/exporter.log" 2>&1 &
PIDS+=($!)
sleep 8
scrape() { # GPU images often lack curl; their python3 does not
  if command -v curl >/dev/null; then curl -fsS "$1"; else python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' "$1"; fi
}
scrape http://127.0.0.1:19400/metrics >"$WORK/metrics" || { cat "$WORK/exporter.log"; exit 1; }
echo "--- scraped GPU series"
grep -E '^(DCGM_|kis_gpu_exporter_(nvml_up|device_up|process|mig)|kis_model_cache)' "$WORK/metrics"
echo "---"

check "NVML is up" grep -q '^kis_gpu_exporter_nvml_up{Hostname="gpu-check"} 1' "$WORK/metrics"
n_smi=$(nvidia-smi --query-gpu=index --format=csv,noheader | wc -l)
n_exp=$(grep -c '^DCGM_FI_DEV_FB_TOTAL{' "$WORK/metrics")
check "one DCGM_FI_DEV_FB_TOTAL per GPU ($n_exp exported, $n_smi in nvidia-smi)" test "$n_exp" -eq "$n_smi"
while IFS=, read -r idx total; do
  idx=${idx// /}; total=${total// /}
  got=$(grep "^DCGM_FI_DEV_FB_TOTAL{.*gpu=\"$idx\"" "$WORK/metrics" | awk '{print $NF}')
  check "GPU $idx memory total: exporter ${got} MiB, nvidia-smi ${total} MiB" test "${got%.*}" = "$total"
done < <(nvidia-smi --query-gpu=index,memory.total --format=csv,noheader,nounits)
check "utilisation in [0,100]" awk '/^DCGM_FI_DEV_GPU_UTIL\{/ { if ($NF < 0 || $NF > 100) bad = 1; n++ } END { exit (bad || n == 0) }' "$WORK/metrics"
check "FB used + free = total (+-2 MiB of rounding, per GPU)" awk '
  /^DCGM_FI_DEV_FB_(USED|FREE|TOTAL)\{/ { match($0, /gpu="[0-9]+"/); g = substr($0, RSTART, RLENGTH); split($1, a, "{"); v[a[1], g] = $NF; gs[g] = 1 }
  END { for (g in gs) { d = v["DCGM_FI_DEV_FB_USED", g] + v["DCGM_FI_DEV_FB_FREE", g] - v["DCGM_FI_DEV_FB_TOTAL", g]; if (d < -2 || d > 2) exit 1 } }' "$WORK/metrics"
check "cached model reported" grep -q 'kis_model_cache_present{Hostname="gpu-check",model="llama-3.1-8b"} 1' "$WORK/metrics"
if [[ $LOAD == 1 ]]; then
  check "per-process GPU memory present under load" grep -q '^kis_gpu_exporter_process_memory_bytes{' "$WORK/metrics"
  check "utilisation above 0 under load" awk '/^DCGM_FI_DEV_GPU_UTIL\{/ && $NF > 0 { ok = 1 } END { exit !ok }' "$WORK/metrics"
fi
echo "$fails check(s) failed"
exit $((fails > 0))
