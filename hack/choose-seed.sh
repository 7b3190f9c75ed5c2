#!/usr/bin/env bash
# make choose-seed: the rule that picks the training seed of the embedded
# model (docs/kiscaler-experiments.md, "Validation through the deployed HPA"). One
# recipe's training seeds spread wider than most recipe changes move
# them, so a recipe ships as its best seed, judged on evaluation seeds
# 21-30, which no results table reports: train the recipe once per seed
# in SEEDS, count each model's requests over the SLO on the four patterns
# over those evaluation seeds, and name the seed with the fewest.
# Usage: hack/choose-seed.sh OUT_DIR [kis-sim train flags...]
set -euo pipefail
out=${1:?usage: hack/choose-seed.sh OUT_DIR [kis-sim train flags...]}
shift
seeds=${SEEDS:-1 2 3 4 5 6 7 8 9}
mkdir -p "$out"
"${GO:-go}" build -o "$out/kis-sim" ./cmd/kis-sim

# over_slo sums the requests over the SLO of `kis-sim eval --json`.
over_slo() {
  awk -F': ' '/"over_slo":/ { sub(/,$/, "", $2); n += $2 } END { print n + 0 }'
}

best='' best_misses=0
for seed in $seeds; do
  dir=$out/seed-$seed
  start=$SECONDS
  "$out/kis-sim" train --seed "$seed" --out "$dir" "$@" 2>"$out/seed-$seed.log" ||
    { echo "choose-seed: training seed $seed failed; see $out/seed-$seed.log" >&2; exit 1; }
  misses=0
  for eval_seed in $(seq 21 30); do
    n=$("$out/kis-sim" eval --scenarios ramp,periodic,random,spike --scalers "kis:$dir/model.json" --seed "$eval_seed" --json | over_slo)
    misses=$((misses + n))
  done
  echo "seed $seed: $misses requests over the SLO on evaluation seeds 21-30 ($((SECONDS - start)) s; model $dir/model.json)"
  if [[ -z $best ]] || ((misses < best_misses)); then
    best=$seed best_misses=$misses
  fi
done
echo "choose seed $best ($best_misses requests over the SLO): make train TRAIN_FLAGS='--seed $best $*'"
