#!/usr/bin/env bash
# Rebuilds the generated fixture files in test-data/ (never hand-edit them).
#   bash test-data/regenerate.sh           regenerate in place
#   bash test-data/regenerate.sh --check   regenerate into a temporary directory and fail if any
#                                          byte differs from what is committed (CI runs this)
# The annotation cut is rebuilt too when ../shared/data (Debian subread's RefSeq SAF) is present.
set -euo pipefail
cd "$(dirname "$0")/.."
SAF=test-data/annotation/hg38_refseq_fixture.saf
FULL=../shared/data/annotation/hg38_RefSeq_exon.txt.gz
cargo build --quiet --release --locked --example make-fixture
if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d); cut=$(mktemp); trap 'rm -rf "$tmp" "$cut"' EXIT
  if [[ -f $FULL ]]; then
    python3 test-data/annotation/make_fixture_saf.py "$FULL" > "$cut"
    cmp "$cut" "$SAF" || { echo "annotation cut differs from $SAF" >&2; exit 1; }
  fi
  ./target/release/examples/make-fixture "$SAF" "$tmp"
  status=0
  for f in $(cd "$tmp" && find . -type f | sort); do
    cmp -s "$tmp/$f" "test-data/$f" || { echo "differs: test-data/$f" >&2; status=1; }
  done
  [[ $status == 0 ]] && echo "fixture regenerates byte-identically ($(cd "$tmp" && find . -type f | wc -l) files)"
  exit $status
fi
if [[ -f $FULL ]]; then
  python3 test-data/annotation/make_fixture_saf.py "$FULL" > "$SAF"
fi
./target/release/examples/make-fixture "$SAF" test-data
echo "regenerated test-data/ from seed; commit the result"
