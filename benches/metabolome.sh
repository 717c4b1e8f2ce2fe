#!/usr/bin/env bash
# `harmonomics normalise metabolome` end to end on a deterministic MZmine-style table of
# FEATURES × INJECTIONS (defaults 10,000 × 2,000: 4 LC batches, pooled QC every 6th injection,
# 2 blanks per batch): read the CSV, zeros, blank filter, QC-RSC LOESS per feature and batch,
# filters, imputation, PQN, log2, and the five Parquet files. Prints wall time (best of 3) and
# max RSS at each thread count.
#
#   bash benches/metabolome.sh [FEATURES] [INJECTIONS] [THREADS...]   (defaults: 10000 2000 1 2)
#
# The table is built by `cargo run --release --example make-bench-metabolome` and cached in
# target/bench-data/. Needs GNU time (apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
FEATURES=${1:-10000}
INJECTIONS=${2:-2000}
shift 2 || true
[[ $# -gt 0 ]] && THREADS=("$@") || THREADS=(1 2)
DATA=target/bench-data/metabolome-$FEATURES-$INJECTIONS
cargo build --quiet --release --locked --bin harmonomics --example make-bench-metabolome
[[ -s $DATA/features.csv ]] || target/release/examples/make-bench-metabolome "$DATA" "$FEATURES" "$INJECTIONS"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
echo "input: $FEATURES features x $INJECTIONS injections, $(du -h "$DATA/features.csv" | cut -f1) CSV; machine: $(nproc) cores"
source benches/lib.sh
for t in "${THREADS[@]}"; do
  read -r best rss < <(measure target/release/harmonomics --quiet --threads "$t" normalise metabolome \
    --table "$DATA/features.csv" --injections "$DATA/injections.csv" -o "$work/out")
  printf 'harmonomics normalise metabolome  %s thread(s): %6s s, max RSS %5s MB\n' "$t" "$best" "$((rss / 1024))"
done
