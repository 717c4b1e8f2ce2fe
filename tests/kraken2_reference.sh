#!/usr/bin/env bash
# A real Kraken2 report from Debian's kraken2 on the package's own test data
# (/usr/share/doc/kraken2/test_data: an NCBI taxonomy excerpt and two viral genomes, Acartia
# tonsa copepod circovirus and Acinetobacter phage AP205). The genomes' headers are rewritten in
# kraken2's documented `kraken:taxid|N` form (the package ships a kraken 1 gi map), a database
# is built (k = 15, l = 11: the genomes are 1.8 and 4.4 kb), and reads are classified: every
# 100-bp window of each genome at a step of 20 bp, plus 25 shuffled windows that match nothing.
# Usage: bash kraken2_reference.sh OUTDIR   writes OUTDIR/report.txt and OUTDIR/reads.fa
set -euo pipefail
out=$1
mkdir -p "$out"
cd "$out"
cp -a /usr/share/doc/kraken2/test_data/. data
gunzip -rf data
sed 's/^>gi|441431932|/>acartia|kraken:taxid|1168547 /' data/Acartia_tonsa.fasta > acartia.fa
sed 's/^>gi|28173057|/>ap205|kraken:taxid|154784 /' data/Acinetobacter_phage.fasta > ap205.fa
mkdir -p db && cp -a data/test_db/taxonomy db/
kraken2-build --no-masking --add-to-library acartia.fa --db db > build.log 2>&1
kraken2-build --no-masking --add-to-library ap205.fa --db db >> build.log 2>&1
kraken2-build --build --db db --kmer-len 15 --minimizer-len 11 --minimizer-spaces 2 --threads 1 >> build.log 2>&1
python3 - acartia.fa ap205.fa > reads.fa <<'PY'
import random, sys
rng = random.Random(7)
n = 0
for path in sys.argv[1:]:
    seq = "".join(l.strip() for l in open(path) if not l.startswith(">"))
    for start in range(0, len(seq) - 100, 20):
        n += 1
        print(f">r{n}\n{seq[start:start + 100]}")
for k in range(25):
    window = list(seq[k * 50:k * 50 + 100])
    rng.shuffle(window)
    n += 1
    print(f">r{n}\n{''.join(window)}")
PY
kraken2 --db db --report report.txt reads.fa > classified.txt 2> classify.log
