#!/usr/bin/env bash
# Fetches the larger real files the concordance tests use but that are too big to commit:
# HTSeq 2.0.5's source distribution on PyPI ships real human Illumina reads aligned to GRCh37
# (SRR001432_head_sorted.bam, 300k records) and Ensembl's GRCh37.56 chromosome-1 GTF.
#   bash test-data/fetch-real-data.sh [DIR]   (default: $HARMONOMICS_REAL_DATA or ~/.cache/harmonomics/real-data)
set -euo pipefail
DIR=${1:-${HARMONOMICS_REAL_DATA:-$HOME/.cache/harmonomics/real-data}}
URL=https://files.pythonhosted.org/packages/62/34/949bc0fad26642b0c5080378a936bf53fe8c4608f958237f820e662f8f5a/HTSeq-2.0.5.tar.gz
SHA256=2519675246dd1639115a76c9aacf19ab5bc5bed2f3598bf89cd97be5c0d066b3
FILES=(SRR001432_head_sorted.bam Homo_sapiens.GRCh37.56_chrom1.gtf)
mkdir -p "$DIR"
present() { for f in "${FILES[@]}"; do [[ -s $DIR/$f ]] || return 1; done; }
if present; then
  echo "real data present in $DIR"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/htseq.tar.gz" "$URL"
echo "$SHA256  $tmp/htseq.tar.gz" | sha256sum -c --quiet
for f in "${FILES[@]}"; do
  tar -xzf "$tmp/htseq.tar.gz" -C "$tmp" "HTSeq-2.0.5/example_data/$f"
  mv "$tmp/HTSeq-2.0.5/example_data/$f" "$DIR/$f"
done
echo "real data in $DIR"
