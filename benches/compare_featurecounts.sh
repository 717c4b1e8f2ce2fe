#!/usr/bin/env bash
# featureCounts vs `harmonomics quant rna`: same BAM, same annotation, same thread count.
# Prints wall time (best of 3), reads/s, max RSS, the ratio featureCounts/harmonomics (> 1: we are
# faster) and the BGZF decompression floor (`samtools view -c -@N`); fails unless counts and
# summary are identical. Memory: max RSS on a BAM a tenth the size is printed too (it must not
# grow with the BAM).
#
#   bash benches/compare_featurecounts.sh [--paired] [READS] [THREADS...]   (defaults: 10000000, 1 2)
#
# --paired: READS fragments (2 records each), coordinate-sorted, counted as fragments
# (featureCounts -p --countReadPairs, which name-sorts such input itself; ours pairs mates in
# place).
#
# The BAM is built deterministically by `cargo run --release --example make-bench-bam` over the
# real NCBI RefSeq hg38 annotation (../shared/data) and cached in target/bench-data/.
# Needs featureCounts, samtools and GNU time (apt-get install subread samtools time).
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRED=()
KIND=rnaseq
if [[ ${1:-} == --paired ]]; then
  PAIRED=(-p --countReadPairs)
  KIND=rnaseq-pe
  shift
fi
READS=${1:-10000000}
shift || true

[[ $# -gt 0 ]] && THREADS=("$@") || THREADS=(1 2)
SAF=${HARMONOMICS_BENCH_SAF:-../shared/data/annotation/hg38_RefSeq_exon.txt.gz}
DATA=target/bench-data
mkdir -p "$DATA"
cargo build --quiet --release --locked --bin harmonomics --example make-bench-bam
bin=target/release/harmonomics
make_bam() {
  [[ -s $DATA/$KIND-$1.bam ]] ||
    target/release/examples/make-bench-bam "$SAF" "$DATA/$KIND-$1.bam" "$1" ${PAIRED:+--paired}
}
small=$((READS / 10))
make_bam "$READS"; make_bam "$small"
bam=$DATA/$KIND-$READS.bam
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
records=$(samtools view -c "$bam")

source benches/lib.sh
row() { printf '%-34s %3s %8s s %12s reads/s %7s MB\n' "$1" "$2" "$3" "$(awk -v n="$records" -v t="$3" 'BEGIN{printf "%.0f", n/t}')" "$(($4 / 1024))"; }

echo "input: $(basename "$bam"): $records alignment records, $(du -h "$bam" | cut -f1); annotation: $SAF"
echo "machine: $(nproc) cores, $(uname -m); $(featureCounts -v 2>&1 | grep -o 'featureCounts v[0-9.]*'); $(samtools --version | head -1)"
status=0
for t in "${THREADS[@]}"; do
  read -r fc_t fc_m < <(measure featureCounts -T "$t" "${PAIRED[@]}" -F SAF -a "$SAF" -o "$work/fc.txt" "$bam")
  read -r hx_t hx_m < <(measure "$bin" --quiet --threads "$t" quant rna "${PAIRED[@]}" --bam "$bam" -a "$SAF" \
    --out "$work/hx.parquet" --featurecounts-tsv "$work/hx.txt")
  read -r sv_t sv_m < <(measure samtools view -c -@ "$((t > 1 ? t - 1 : 0))" "$bam")
  row "featureCounts" "$t" "$fc_t" "$fc_m"
  row "harmonomics quant rna" "$t" "$hx_t" "$hx_m"
  row "samtools view -c (decode floor)" "$t" "$sv_t" "$sv_m"
  awk -v a="$fc_t" -v b="$hx_t" -v t="$t" 'BEGIN{printf "ratio featureCounts/harmonomics at %s thread(s): %.2f\n", t, a/b}'
  if diff <(grep -v '^#' "$work/fc.txt" | cut -f1,7) <(grep -v '^#' "$work/hx.txt" | cut -f1,7) >/dev/null &&
     diff <(cut -f2 "$work/fc.txt.summary" | tail -n +2) <(cut -f2 "$work/hx.txt.summary" | tail -n +2) >/dev/null; then
    echo "counts and summary: identical"
  else
    echo "counts and summary: DIFFERENT"; status=1
  fi
done
read -r s_t s_m < <(measure "$bin" --quiet --threads "$t" quant rna "${PAIRED[@]}" --bam "$DATA/$KIND-$small.bam" -a "$SAF" \
  --out "$work/s.parquet")
echo "memory at $t thread(s): harmonomics max RSS $((s_m / 1024)) MB on $(basename "$DATA/$KIND-$small.bam") vs $((hx_m / 1024)) MB on $(basename "$bam") (10x the reads)"
exit $status
