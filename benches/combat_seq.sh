#!/usr/bin/env bash
# ComBat-seq: `harmonomics correct --method combat-seq` against inmoose's `pycombat_seq` (the
# Python port of sva's ComBat_seq) on the same deterministic count matrix of GENES × SAMPLES
# (defaults 20,000 × 200; 4 batches, timepoint protected). Prints wall time (best of 3 for
# harmonomics, one run for inmoose, whose own in-process time is printed too), max RSS, the
# ratio, and how many of the corrected counts are identical.
#
#   bash benches/combat_seq.sh [GENES] [SAMPLES] [THREADS...]   (defaults: 20000 200 1 2)
#
# The matrix is built by `cargo run --release --example make-bench-counts` and cached in
# target/bench-data/. inmoose comes from $HARMONOMICS_PYTHON (.ci/run's venv); without it only
# harmonomics is timed. Needs GNU time (apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
GENES=${1:-20000}
SAMPLES=${2:-200}
shift 2 || true
[[ $# -gt 0 ]] && THREADS=("$@") || THREADS=(1 2)
DATA=target/bench-data/counts-$GENES-$SAMPLES
cargo build --quiet --release --locked --bin harmonomics --example make-bench-counts
[[ -s $DATA/counts.tsv ]] || target/release/examples/make-bench-counts "$DATA" "$GENES" "$SAMPLES"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
echo "input: $GENES genes x $SAMPLES samples in 4 batches, 5 timepoints protected; machine: $(nproc) cores"
source benches/lib.sh
for t in "${THREADS[@]}"; do
  read -r best rss < <(measure target/release/harmonomics --quiet --threads "$t" correct --method combat-seq \
    --input "$DATA/counts.tsv" --samples "$DATA/samples.tsv" --protect timepoint -o "$work/ours-$t.parquet")
  printf 'harmonomics correct --method combat-seq  %s thread(s): %7s s, max RSS %5s MB\n' "$t" "$best" "$((rss / 1024))"
  echo "$best" > "$work/ours-$t.seconds"
done
PY=${HARMONOMICS_PYTHON:-}
if [[ -z $PY ]] || ! "$PY" -c 'import inmoose' 2>/dev/null; then
  echo "inmoose not available (set HARMONOMICS_PYTHON): no comparison"
  exit 0
fi
awk 'NR == 1 { print "sample\tbatch\tcovariate"; next } { print }' "$DATA/samples.tsv" > "$work/labels.tsv"
/usr/bin/time -f "%e %M" -o "$work/time" "$PY" - "$DATA/counts.tsv" "$work/labels.tsv" "$work/theirs.tsv" \
  "$work/ours-${THREADS[0]}.parquet" > "$work/python.out" 2>/dev/null <<'PYTHON'
import sys, time
import pandas as pd
from inmoose.pycombat import pycombat_seq
counts = pd.read_csv(sys.argv[1], sep="\t", index_col=0)
labels = pd.read_csv(sys.argv[2], sep="\t", index_col=0).loc[counts.columns]
start = time.perf_counter()
out = pycombat_seq(counts, list(labels["batch"]), covar_mod=list(labels["covariate"]))
print(f"{time.perf_counter() - start:.2f}")
ours = pd.read_parquet(sys.argv[4]).set_index("feature_id").loc[out.index, out.columns]
print((ours.values == out.values).sum(), out.size, (abs(ours.values - out.values)).max())
PYTHON
read -r wall rss < "$work/time"
{ read -r inner; read -r same cells worst; } < "$work/python.out"
printf 'inmoose pycombat_seq (Python, 1 process):  %7s s, max RSS %5s MB (%s s inside pycombat_seq)\n' "$wall" "$((rss / 1024))" "$inner"
for t in "${THREADS[@]}"; do
  awk -v a="$wall" -v b="$(cat "$work/ours-$t.seconds")" -v t="$t" \
    'BEGIN { printf "ratio inmoose / harmonomics at %s thread(s): %.1f\n", t, a / b }'
done
echo "identical corrected counts: $same of $cells (largest difference $worst)"
# R's sva is the reference (tests/concordance.rs: every count equal on pasilla and the fixture).
# inmoose departs from edgeR's C++ (Cox-Reid weights of zero means, scipy's optimiser for R's
# optimize), so ~0.6% of these counts differ by a few; more than 1% would mean a drift.
awk -v s="$same" -v c="$cells" 'BEGIN { exit !(s >= 0.99 * c) }' || { echo "FAIL: too many counts differ"; exit 1; }
