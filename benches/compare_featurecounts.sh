#!/usr/bin/env bash
# Same BAM, same annotation, same thread count: featureCounts vs `harmonomics quant rna`.
# Prints wall time, the ratio (featureCounts / harmonomics: > 1 means we are faster), max RSS,
# and checks that both give the same counts.
#
#   bash benches/compare_featurecounts.sh [THREADS] [COPIES]
#
# The input is the 39 fixture BAMs concatenated COPIES times (default 20: ~4.9 M alignments,
# unsorted across copies, which single-end counting does not care about). Needs featureCounts,
# samtools and GNU time (apt-get install subread samtools time).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
COPIES=${2:-20}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cargo build --quiet --release --locked
bin=target/release/harmonomics
saf=test-data/annotation/hg38_refseq_fixture.saf
bams=()
for _ in $(seq "$COPIES"); do bams+=(test-data/transcriptome/bam/*.bam); done
samtools cat -o "$work/big.bam" "${bams[@]}"
records=$(samtools view -c -@ "$THREADS" "$work/big.bam")
size=$(du -h "$work/big.bam" | cut -f1)

measure() { # name, command...: prints "seconds max_rss_kb" (best of 3 wall times)
  local best="" rss=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$work/time" "${@:2}" >/dev/null 2>&1
    read -r t m < "$work/time"
    if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; rss=$m; fi
  done
  echo "$best $rss"
}
read -r fc_t fc_m < <(measure fc featureCounts -T "$THREADS" -F SAF -a "$saf" -o "$work/fc.txt" "$work/big.bam")
read -r hx_t hx_m < <(measure hx "$bin" --quiet --threads "$THREADS" quant rna --bam "$work/big.bam" -a "$saf" \
  --out "$work/hx.parquet" --featurecounts-tsv "$work/hx.txt")
read -r sv_t sv_m < <(measure sv samtools view -c -@ "$THREADS" "$work/big.bam")

if diff <(grep -v '^#' "$work/fc.txt" | cut -f1,7) <(grep -v '^#' "$work/hx.txt" | cut -f1,7) >/dev/null &&
   diff <(cut -f2 "$work/fc.txt.summary" | tail -n +2) <(cut -f2 "$work/hx.txt.summary" | tail -n +2) >/dev/null; then
  same=identical
else
  same=DIFFERENT
fi
echo "input: $records alignments, $size BAM; threads: $THREADS; machine: $(nproc) cores, $(uname -m)"
printf '%-28s %8s s  %8s MB max RSS\n' "featureCounts $(featureCounts -v 2>&1 | grep -o 'v[0-9.]*')" "$fc_t" "$((fc_m / 1024))"
printf '%-28s %8s s  %8s MB max RSS\n' "harmonomics quant rna" "$hx_t" "$((hx_m / 1024))"
printf '%-28s %8s s  %8s MB max RSS\n' "samtools view -c (floor)" "$sv_t" "$((sv_m / 1024))"
awk -v a="$fc_t" -v b="$hx_t" 'BEGIN{printf "ratio featureCounts/harmonomics: %.2f (>1: harmonomics faster)\n", a/b}'
echo "counts and summary: $same"
[[ $same == identical ]]
