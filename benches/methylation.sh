#!/usr/bin/env bash
# `harmonomics quant methylation` speed and memory on a realistic bisulfite BAM, and on the same
# molecules as a modified-base (MM/ML) BAM next to the reference tool that decodes MM/ML,
# `samtools mpileup --output-mods` (Bismark and MethylDackel do not install from the registries
# these machines reach). Prints wall time (best of 3), reads/s, CpG calls/s, max RSS, and the BGZF
# decode floor (`samtools view -c`). Memory on a BAM a tenth the size is printed too.
#
#   bash benches/methylation.sh [READS] [THREADS...]     (defaults: 5000000, 1 2)
#
# The BAMs are built deterministically by `cargo run --release --example make-bench-bisulfite`
# and cached in target/bench-data/. Needs samtools and GNU time (apt-get install samtools time).
set -euo pipefail
cd "$(dirname "$0")/.."
READS=${1:-5000000}
shift || true
[[ $# -gt 0 ]] && THREADS=("$@") || THREADS=(1 2)
DATA=target/bench-data
mkdir -p "$DATA"
cargo build --quiet --release --locked --bin harmonomics --example make-bench-bisulfite
bin=target/release/harmonomics
make_bams() {
  [[ -s $DATA/modbam-$1.bam ]] ||
    target/release/examples/make-bench-bisulfite "$DATA/bisulfite-$1.bam" "$1" "$DATA/modbam-$1.bam"
}
small=$((READS / 10))
make_bams "$READS"; make_bams "$small"
bs=$DATA/bisulfite-$READS.bam
mm=$DATA/modbam-$READS.bam
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
records=$(samtools view -c "$bs")
calls=$("$bin" --threads 1 quant methylation --bam "$bs" -o "$work/x.parquet" 2>&1 | sed -n 's/.* CpGs, \([0-9]*\) calls.*/\1/p')

source benches/lib.sh
row() {
  printf '%-40s %3s %7s s %10s reads/s %11s calls/s %6s MB\n' "$1" "$2" "$3" \
    "$(awk -v n="$records" -v t="$3" 'BEGIN{printf "%.0f", n/t}')" \
    "$(awk -v n="$calls" -v t="$3" 'BEGIN{printf "%.0f", n/t}')" "$(($4 / 1024))"
}

echo "input: $(basename "$bs"): $records reads, $calls CpG calls (after filters), $(du -h "$bs" | cut -f1); $(basename "$mm"): $(du -h "$mm" | cut -f1)"
echo "machine: $(nproc) cores, $(uname -m); $(samtools --version | head -1)"
for t in "${THREADS[@]}"; do
  read -r xm_t xm_m < <(measure "$bin" --quiet --threads "$t" quant methylation --bam "$bs" -o "$work/xm.parquet")
  read -r mm_t mm_m < <(measure "$bin" --quiet --threads "$t" quant methylation --bam "$mm" -o "$work/mm.parquet")
  read -r sp_t sp_m < <(measure samtools mpileup --output-mods -B -Q 0 -q 10 -o "$work/pileup.txt" "$mm")
  read -r sv_t sv_m < <(measure samtools view -c -@ "$((t > 1 ? t - 1 : 0))" "$bs")
  row "harmonomics quant methylation (XM)" "$t" "$xm_t" "$xm_m"
  row "harmonomics quant methylation (MM/ML)" "$t" "$mm_t" "$mm_m"
  row "samtools mpileup --output-mods (MM/ML)" "1" "$sp_t" "$sp_m"
  row "samtools view -c (decode floor)" "$t" "$sv_t" "$sv_m"
  awk -v a="$sp_t" -v b="$mm_t" -v t="$t" 'BEGIN{printf "ratio samtools mpileup/harmonomics on MM/ML at %s thread(s): %.2f\n", t, a/b}'
done
read -r _ small_m < <(measure "$bin" --quiet --threads 1 quant methylation --bam "$DATA/bisulfite-$small.bam" -o "$work/s.parquet")
echo "max RSS, XM, 1 thread: $((xm_m / 1024)) MB on $records reads; $((small_m / 1024)) MB on $small reads"
