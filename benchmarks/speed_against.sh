#!/usr/bin/env bash
# Training speed of this checkout against another one (an earlier commit), measured in
# one interleaved run (old, new, old, new) so that the machine's load falls on both.
#
#   git worktree add /tmp/before <commit>
#   bash benchmarks/speed_against.sh /tmp/before [OUT_DIR]
#
# Prints one line per run: model, dataset, which checkout, repeat, epochs run, training
# seconds (validation excluded) and examples/s.
set -euo pipefail
other=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-runs/speed}
python=${PYTHON:-python}
mkdir -p "$out"
out=$(cd "$out" && pwd)
run() {  # checkout label model dataset epochs repeat
  # Run from the checkout: `python -m` puts the working directory before PYTHONPATH, so
  # from anywhere else both labels would time the same code.
  (cd "$1" && PYTHONPATH=$1 "$python" -m tfxdr.cli train "$3" --dataset "$4" \
    --domains Drama,Comedy --epochs "$5" --set patience=0 --set eval_every=100 \
    --out "$out/$3-$4-$2-$6" --overwrite --quiet > /dev/null 2>&1)
  "$python" -c "import json; m = json.load(open('$out/$3-$4-$2-$6/metrics.json')); \
print('$3 $4 $2 $6', m['epochs_run'], m['train_seconds'], m['examples_per_second'])"
}
for case in "multivae ml-1m 5" "d2dtm ml-1m 3" "dadin ml-100k 3" "din ml-100k 3" \
            "cnan_at ml-100k 2"; do
  set -- $case
  for repeat in 1 2; do
    run "$other" before "$1" "$2" "$3" "$repeat"
    run "$here" after "$1" "$2" "$3" "$repeat"
  done
done
