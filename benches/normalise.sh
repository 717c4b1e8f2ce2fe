#!/usr/bin/env bash
# Cohort-size normalisation: `harmonomics normalise transcriptome` against pydeseq2 and R (DESeq2,
# edgeR) on the same negative-binomial matrix of GENES x SAMPLES (defaults 60,000 x 900, the
# 180-patient x 5-timepoint cohort; dispersion 0.1 + 1/mean). Prints wall time and peak RSS of
# each step for harmonomics at each thread count (best of REPEAT runs, default 3; end to end:
# reading the Parquet matrix and writing the normalised one), pydeseq2's in-process time (2 cpus)
# and R's in-process time (1 thread; reading the matrix excluded), and the ratios.
#
#   bash benches/normalise.sh [GENES] [SAMPLES] [THREADS...]   (defaults: 60000 900 1 2)
#
# The matrix is drawn by benches/make_nb_counts.R (needs R) and cached in target/bench-data/ as
# TSV and zstd Parquet (pyarrow from $HARMONOMICS_PYTHON). Without R or pydeseq2 their columns
# are skipped. Needs GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
GENES=${1:-60000}
SAMPLES=${2:-900}
shift 2 || true
[[ $# -gt 0 ]] && THREADS=("$@") || THREADS=(1 2)
REPEAT=${REPEAT:-3}
PY=${HARMONOMICS_PYTHON:-}
DATA=target/bench-data/nb-$GENES-$SAMPLES
mkdir -p "$DATA"
cargo build --quiet --release --locked --bin harmonomics
if [[ ! -s $DATA/counts.tsv ]]; then
  command -v Rscript >/dev/null || { echo "needs Rscript to draw the matrix"; exit 1; }
  Rscript benches/make_nb_counts.R "$GENES" "$SAMPLES" 1 "$DATA/counts.tsv"
fi
INPUT=$DATA/counts.tsv
if [[ -n $PY ]] && "$PY" -c 'import pyarrow' 2>/dev/null; then
  [[ -s $DATA/counts.parquet ]] || "$PY" - "$DATA/counts.tsv" "$DATA/counts.parquet" <<'PYTHON'
import sys
import pyarrow as pa, pyarrow.csv as pc, pyarrow.parquet as pq
t = pc.read_csv(sys.argv[1], parse_options=pc.ParseOptions(delimiter="\t"))
t = t.cast(pa.schema([pa.field("feature_id", pa.string())] + [pa.field(n, pa.uint64()) for n in t.column_names[1:]]))
pq.write_table(t, sys.argv[2], compression="zstd")
PYTHON
  INPUT=$DATA/counts.parquet
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
echo "input: $GENES genes x $SAMPLES samples ($INPUT); machine: $(nproc) cores; matrix in memory $((GENES * SAMPLES * 8 / 1048576)) MB"
best_of() { # CMD... -> "best_seconds max_rss_kb" over $REPEAT runs
  local best="" rss=""
  for ((i = 0; i < REPEAT; i++)); do
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1
    read -r t m < "$work/time"
    if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; rss=$m; fi
  done
  echo "$best $rss"
}
declare -A OURS
STEPS=("sf+norm:--method deseq2" "vst:--method vst" "vst_nsub:--method vst --nsub 1000" "tmm:--method tmm" "cpm:--method cpm")
for step in "${STEPS[@]}"; do
  name=${step%%:*}; args=${step#*:}
  for t in "${THREADS[@]}"; do
    # shellcheck disable=SC2086
    read -r best rss < <(best_of target/release/harmonomics --quiet --threads "$t" normalise transcriptome \
      --counts "$INPUT" $args -o "$work/$name-$t.parquet")
    printf 'harmonomics %-9s %s thread(s): %7s s, peak RSS %5s MB\n' "$name" "$t" "$best" "$((rss / 1024))"
    OURS[$name-$t]=$best
  done
  if [[ ${#THREADS[@]} -ge 2 ]]; then
    awk -v a="${OURS[$name-${THREADS[0]}]}" -v b="${OURS[$name-${THREADS[-1]}]}" -v n="$name" \
      -v t="${THREADS[-1]}" 'BEGIN { if (b > 0) printf "  %s: %s threads %.2fx faster than %s\n", n, t, a / b, "one" }'
  fi
done
last=${THREADS[-1]}
ratio() { awk -v a="$2" -v b="$3" -v n="$1" 'BEGIN { if (b > 0) printf "  ratio %s / harmonomics (%s threads): %.1f\n", n, "'"$last"'", a / b }'; }
if [[ -n $PY ]] && "$PY" -c 'import pydeseq2' 2>/dev/null; then
  /usr/bin/time -f "%e %M" -o "$work/time" "$PY" - "$DATA/counts.tsv" > "$work/pydeseq2.out" 2>/dev/null <<'PYTHON'
import sys, time, warnings
import pandas as pd
from pydeseq2.dds import DeseqDataSet
from pydeseq2.default_inference import DefaultInference
warnings.filterwarnings("ignore")
counts = pd.read_csv(sys.argv[1], sep="\t", index_col=0).T
meta = pd.DataFrame({"condition": ["a"] * len(counts)}, index=counts.index)
t0 = time.perf_counter()
dds = DeseqDataSet(counts=counts, metadata=meta, design="~1", inference=DefaultInference(n_cpus=2), quiet=True)
dds.fit_size_factors()
normed = dds.layers["normed_counts"]
print("sf+norm", time.perf_counter() - t0)
t0 = time.perf_counter()
dds.vst(use_design=False, fit_type="parametric")
print("vst", time.perf_counter() - t0)
PYTHON
  read -r _ rss < "$work/time"
  while read -r name secs; do
    printf 'pydeseq2 %-9s (2 cpus, in-process): %7.2f s\n' "$name" "$secs"
    ratio "pydeseq2 $name" "$secs" "${OURS[$name-$last]}"
  done < "$work/pydeseq2.out"
  echo "  pydeseq2 peak RSS (whole script): $((rss / 1024)) MB"
else
  echo "pydeseq2 not available (set HARMONOMICS_PYTHON): no comparison"
fi
if Rscript -e 'suppressMessages({library(DESeq2); library(edgeR)})' >/dev/null 2>&1; then
  /usr/bin/time -f "%e %M" -o "$work/time" Rscript - "$DATA/counts.tsv" > "$work/r.out" 2>/dev/null <<'RSCRIPT'
suppressPackageStartupMessages({ library(DESeq2); library(edgeR) })
counts <- as.matrix(read.delim(commandArgs(trailingOnly = TRUE)[1], row.names = 1, check.names = FALSE))
tm <- function(name, expr) cat(name, system.time(expr)[["elapsed"]], "\n")
dds <- DESeqDataSetFromMatrix(counts, DataFrame(row.names = colnames(counts)), ~ 1)
tm("sf+norm", { d <- estimateSizeFactors(dds); n <- counts(d, normalized = TRUE) })
tm("vst_nsub", v <- vst(dds, nsub = 1000))
tm("vst", v <- varianceStabilizingTransformation(dds, blind = TRUE))
tm("tmm", { y <- calcNormFactors(DGEList(counts)); z <- cpm(y) })
tm("cpm", z <- cpm(counts))
RSCRIPT
  read -r _ rss < "$work/time"
  while read -r name secs; do
    printf 'R %-9s (1 thread, in-process): %7.2f s\n' "$name" "$secs"
    ratio "R $name" "$secs" "${OURS[$name-$last]}"
  done < "$work/r.out"
  echo "  R peak RSS (whole script): $((rss / 1024)) MB"
else
  echo "R with DESeq2 and edgeR not available: no comparison"
fi
