#!/usr/bin/env bash
# The microbiome layer end to end (`harmonomics run` on a cohort of microbiome rows only: read a
# generic taxa × samples TSV, sum to genus, depth and prevalence filters, CLR, alpha diversity,
# Bray-Curtis and Aitchison PCoA, four Parquet files) against the same statistics in R vegan
# 2.6 (read.delim, decostand clr, diversity, specnumber, estimateR, vegdist bray, cmdscale of
# Bray-Curtis and of the CLR's Euclidean distance) on one deterministic table of TAXA genera ×
# SAMPLES samples (defaults 1,000 × 2,000: negative-binomial reads, ~20,000 per sample). Prints
# wall time (best of 3 for harmonomics, one R run), cores used, max RSS and the ratio.
#
#   bash benches/microbiome.sh [TAXA] [SAMPLES] [THREADS...]   (defaults: 1000 2000 1 2)
#
# Needs GNU time (apt-get install time); R with vegan (r-cran-vegan) for the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
TAXA=${1:-1000}
SAMPLES=${2:-2000}
shift 2 || true
[[ $# -gt 0 ]] && THREADS=("$@") || THREADS=(1 2)
DATA=target/bench-data/microbiome-$TAXA-$SAMPLES
cargo build --quiet --release --locked --bin harmonomics
if [[ ! -s $DATA/table.tsv ]]; then
  mkdir -p "$DATA"
  python3 - "$DATA" "$TAXA" "$SAMPLES" <<'PY'
import math, os, random, sys
out, taxa, samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(20261203)
weights = [math.exp(rng.gauss(0, 2)) for _ in range(taxa)]
total = sum(weights)
with open(os.path.join(out, "table.tsv"), "w") as fh:
    fh.write("taxon\t" + "\t".join(f"S{j:05d}" for j in range(samples)) + "\n")
    columns = []
    for j in range(samples):
        depth = 20000 * math.exp(rng.gauss(0, 0.3))
        col = []
        for w in weights:
            mean = depth * w / total * math.exp(rng.gauss(0, 0.5))
            # Poisson by inversion on pieces (a gamma-Poisson mixture through the gauss above).
            lam, k = mean, 0
            while lam > 0:
                piece = min(lam, 20.0); lam -= piece
                p, f, x = rng.random(), math.exp(-piece), 0
                while p > f:
                    p -= f; x += 1; f *= piece / x
                k += x
            col.append(k)
        columns.append(col)
    for i in range(taxa):
        fh.write(f"d__Bacteria;p__P{i % 17};c__C{i % 41};o__O{i % 97};f__F{i % 311};g__G{i}\t"
                 + "\t".join(str(columns[j][i]) for j in range(samples)) + "\n")
with open(os.path.join(out, "samplesheet.csv"), "w") as fh:
    fh.write("sample_id,patient_id,timepoint,layer,path,batch\n")
    for j in range(samples):
        fh.write(f"S{j:05d},P{j:05d},day0,microbiome,table.tsv,run{j % 4}\n")
with open(os.path.join(out, "cohort.toml"), "w") as fh:
    fh.write('samplesheet = "samplesheet.csv"\n[study]\nname = "bench"\n'
             '[[timepoints]]\nname = "day0"\norder = 1\nnominal_day = 0\n'
             '[microbiome.process]\nmin_prevalence = 0.1\nmin_abundance = 0.0001\n')
PY
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
echo "input: $TAXA genera x $SAMPLES samples, $(du -h "$DATA/table.tsv" | cut -f1) TSV; machine: $(nproc) cores"
source benches/lib.sh
for t in "${THREADS[@]}"; do
  /usr/bin/time -f "%e %U %S %M" -o "$work/cpu" target/release/harmonomics --quiet --threads "$t" run \
    --config "$DATA/cohort.toml" --out "$work/out-$t" >/dev/null 2>&1
  read -r best rss < <(measure target/release/harmonomics --quiet --threads "$t" run \
    --config "$DATA/cohort.toml" --out "$work/out-$t")
  read -r w u s _ < "$work/cpu"
  cores=$(awk -v w="$w" -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", (u+s)/w}')
  printf 'harmonomics run (microbiome)  %s thread(s): %7s s, %s cores, max RSS %5s MB\n' "$t" "$best" "$cores" "$((rss / 1024))"
  echo "$best" > "$work/ours-$t.seconds"
done
if command -v Rscript >/dev/null && Rscript -e 'library(vegan)' >/dev/null 2>&1; then
  cat > "$work/vegan.R" <<'R'
suppressMessages(library(vegan))
args <- commandArgs(trailingOnly = TRUE)
x <- t(as.matrix(read.delim(args[1], row.names = 1, check.names = FALSE)))
rel <- decostand(x, "total")
keep <- colSums(rel >= 1e-4) >= 0.1 * nrow(x)
alpha <- cbind(specnumber(x), diversity(x, "shannon"), diversity(x, "simpson"), estimateR(x)["S.chao1", ])
clr <- decostand(x[, keep], "clr", pseudocount = 1)
bray <- cmdscale(vegdist(rel[, keep], "bray"), k = 2)
ait <- cmdscale(dist(clr), k = 2)
R
  /usr/bin/time -f "%e %U %S %M" -o "$work/r" Rscript "$work/vegan.R" "$DATA/table.tsv" >/dev/null 2>&1
  read -r rw ru rs rm < "$work/r"
  printf 'R vegan (same statistics)     1 thread:   %7s s, %s cores, max RSS %5s MB\n' "$rw" \
    "$(awk -v w="$rw" -v u="$ru" -v s="$rs" 'BEGIN{printf "%.2f", (u+s)/w}')" "$((rm / 1024))"
  for t in "${THREADS[@]}"; do
    awk -v r="$rw" -v o="$(cat "$work/ours-$t.seconds")" -v t="$t" \
      'BEGIN{printf "ratio vegan / harmonomics at %s thread(s): %.1fx\n", t, r / o}'
  done
else
  echo "R with vegan not found: harmonomics timed alone"
fi
