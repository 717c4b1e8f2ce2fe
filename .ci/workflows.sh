#!/usr/bin/env bash
# The fixture cohort under Snakemake, locally and on a real single-node SLURM cluster: every
# output must equal `harmonomics run`'s byte for byte; a second run must do nothing; touching one
# sample's BAM must re-run that sample, its layer and the gather, nothing else.
#
# Usage: bash .ci/workflows.sh BINARY VENV_PYTHON   (run from the repository root, as root for SLURM)
set -euo pipefail
BIN=$(realpath "$1")
PY=$2
W=$(mktemp -d /tmp/harmonomics-workflows.XXXXXX)
trap 'rm -rf "$W"' EXIT
export PATH="$(dirname "$BIN"):$PATH"
SMK=("$PY" -m snakemake -s workflows/snakemake/Snakefile)

"$PY" -m pip install --quiet --disable-pip-version-check "snakemake>=9,<10" "snakemake-executor-plugin-slurm>=1.4"
"$PY" -m snakemake --version

# Every file but the manifests (timings, command lines) and Snakemake's logs must be identical.
same_as_run() {
  local dir=$1 n=0
  diff <(cd "$W/run" && find . -type f ! -name manifest.json | sort) \
       <(cd "$dir" && find . -type f ! -name manifest.json ! -path './logs/*' | sort)
  while read -r f; do
    cmp -s "$W/run/$f" "$dir/$f" || { echo "differs from harmonomics run: $dir/$f" >&2; exit 1; }
    n=$((n + 1))
  done < <(cd "$W/run" && find . -type f ! -name manifest.json)
  echo "$dir: $n files byte-identical to harmonomics run"
}

"$BIN" --quiet run --out "$W/run"

echo "--- snakemake, local profile"
"${SMK[@]}" --workflow-profile workflows/snakemake/profiles/local --config out="$W/local" --quiet rules
same_as_run "$W/local"

echo "--- a second run does nothing"
"${SMK[@]}" --workflow-profile workflows/snakemake/profiles/local --config out="$W/local" --dry-run 2>&1 \
  | tee "$W/again.log" | grep -q "Nothing to be done" || { cat "$W/again.log"; exit 1; }

echo "--- touching one BAM re-runs that sample, its layer and the gather (mtime semantics)"
# Snakemake >= 8 also compares checksums of inputs under 1 MB, so a touch alone would (rightly)
# run nothing; --max-checksum-file-size 0 asks for plain modification times.
touch test-data/transcriptome/bam/P03_day3.bam
"${SMK[@]}" --workflow-profile workflows/snakemake/profiles/local --config out="$W/local" \
  --max-checksum-file-size 0 --dry-run --quiet rules > "$W/plan.log" 2>&1 || { cat "$W/plan.log"; exit 1; }
cat "$W/plan.log"
for rule in quant_sample normalise_layer harmonise; do
  grep -Eq "^${rule}[[:space:]]+1$" "$W/plan.log" || { echo "expected exactly one $rule job" >&2; exit 1; }
done
grep -Eq "^total[[:space:]]+4$" "$W/plan.log" || { echo "expected 4 jobs in all (3 and the target rule)" >&2; exit 1; }
"${SMK[@]}" --workflow-profile workflows/snakemake/profiles/local --config out="$W/local" \
  --max-checksum-file-size 0 --quiet rules
same_as_run "$W/local"

echo "--- snakemake on a single-node SLURM cluster (slurm-wlm + munge on loopback)"
bash ../shared/tools/slurm-single-node.sh
trap 'bash ../shared/tools/slurm-stop.sh || true; rm -rf "$W"' EXIT
"${SMK[@]}" --workflow-profile workflows/snakemake/profiles/slurm --config out="$W/slurm" --quiet rules
same_as_run "$W/slurm"
sacct_or_squeue=$(squeue -h | wc -l)
echo "SLURM queue empty after the run: $((sacct_or_squeue == 0))"
