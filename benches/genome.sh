#!/usr/bin/env bash
# `harmonomics quant genotypes` (read a bgzipped VCF, write the dosage matrix, the variant table
# with call rate, ALT frequency, MAF and HWE exact p, and the per-sample QC table) against plink2
# 2.00a3.5 computing the same figures from the same file (`--vcf --freq --hardy --missing`, which
# includes its VCF import) and bcftools 1.16 (`+fill-tags -t MAF,HWE,F_MISSING` needs plugins
# Debian ships; `bcftools stats -s -` is timed as the per-sample half). One deterministic VCF of
# VARIANTS biallelic SNVs × SAMPLES samples (defaults 100,000 × 500, HWE genotypes, 1% missing).
# Prints wall time (best of 3), cores used, max RSS and the ratios.
#
#   bash benches/genome.sh [VARIANTS] [SAMPLES] [THREADS...]   (defaults: 100000 500 1 2)
#
# Needs GNU time; plink2 and bcftools for the comparison (apt-get install plink2 bcftools).
set -euo pipefail
cd "$(dirname "$0")/.."
VARIANTS=${1:-100000}
SAMPLES=${2:-500}
shift 2 || true
[[ $# -gt 0 ]] && THREADS=("$@") || THREADS=(1 2)
DATA=target/bench-data/genome-$VARIANTS-$SAMPLES
cargo build --quiet --release --locked --bin harmonomics
if [[ ! -s $DATA/cohort.vcf.gz ]]; then
  mkdir -p "$DATA"
  python3 - "$VARIANTS" "$SAMPLES" <<'PY' | gzip -1 > "$DATA/cohort.vcf.gz"
import random, sys
variants, samples = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(20261203)
out = sys.stdout
out.write("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n")
out.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(f"S{j:05d}" for j in range(samples)) + "\n")
codes = ["0/0", "0/1", "1/1"]
for i in range(variants):
    p = rng.uniform(0.01, 0.5)
    q0, q1 = (1 - p) ** 2, (1 - p) ** 2 + 2 * p * (1 - p)
    calls = []
    for _ in range(samples):
        u = rng.random()
        calls.append("./." if u < 0.01 else codes[0 if u < q0 else 1 if u < q1 else 2])
    ref, alt = rng.sample("ACGT", 2)
    out.write(f"chr1\t{1000 + 100 * i}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(calls) + "\n")
PY
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
echo "input: $VARIANTS SNVs x $SAMPLES samples, $(du -h "$DATA/cohort.vcf.gz" | cut -f1) gzipped VCF; machine: $(nproc) cores"
source benches/lib.sh
time_cores() { # time_cores LABEL CMD...: best of 3 wall, cores of one run, max RSS
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/cpu" "$@" >/dev/null 2>&1
  read -r best rss < <(measure "$@")
  read -r w u s _ < "$work/cpu"
  printf '%-52s %7s s, %s cores, max RSS %5s MB\n' "$label" "$best" \
    "$(awk -v w="$w" -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", (u+s)/w}')" "$((rss / 1024))"
  echo "$best" > "$work/last.seconds"
}
for t in "${THREADS[@]}"; do
  time_cores "harmonomics quant genotypes, $t thread(s)" \
    target/release/harmonomics --quiet --threads "$t" quant genotypes --vcf "$DATA/cohort.vcf.gz" -o "$work/ours"
  cp "$work/last.seconds" "$work/ours-$t.seconds"
done
if command -v plink2 >/dev/null; then
  for t in "${THREADS[@]}"; do
    time_cores "plink2 --freq --hardy --missing, $t thread(s)" plink2 --threads "$t" --vcf "$DATA/cohort.vcf.gz" \
      --vcf-half-call m --allow-extra-chr --freq --hardy --missing --out "$work/plink"
    awk -v r="$(cat "$work/last.seconds")" -v o="$(cat "$work/ours-$t.seconds")" -v t="$t" \
      'BEGIN{printf "ratio plink2 / harmonomics at %s thread(s): %.2fx\n", t, r / o}'
  done
else
  echo "plink2 not found: harmonomics timed alone"
fi
if command -v bcftools >/dev/null; then
  time_cores "bcftools stats -s - (per-sample counts), 1 thread" bcftools stats -s - "$DATA/cohort.vcf.gz"
  awk -v r="$(cat "$work/last.seconds")" -v o="$(cat "$work/ours-1.seconds")" \
    'BEGIN{printf "ratio bcftools stats / harmonomics at 1 thread: %.2fx\n", r / o}'
fi
