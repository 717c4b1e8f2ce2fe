#!/usr/bin/env bash
# The cohort engine at cohort size: `harmonomics run --threads THREADS` on generated cohorts of
# N patients x 5 timepoints (RNA BAMs of ~65,000 reverse-stranded reads on the hg38 RefSeq exons,
# Bismark .cov.gz of ~200,000 of 250,000 CpGs, one MZmine table of 3,000 features, ComBat on),
# for each N given. Prints, per size: wall, cores used and peak RSS of the whole run (GNU time),
# then per stage (from manifest.json): seconds, cores used (process CPU seconds / wall) and the
# process's peak RSS so far at the stage's end.
#
#   bash benches/scale.sh [N...]      (default: 45 90 180 400; THREADS=2)
#
# Cohorts are built by `cargo run --release --example make-scale-cohort` (deterministic) and
# cached in target/bench-data/scale-N (about 3 MB per RNA and 2.6 MB per methylation sample).
# Needs GNU time (apt-get install time). The inputs are read once before each run (page cache).
# HARMONOMICS=path/to/binary measures another build (e.g. one of an earlier commit) on the same cohorts.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -gt 0 ]] && SIZES=("$@") || SIZES=(45 90 180 400)
THREADS=${THREADS:-2}
BIN=${HARMONOMICS:-target/release/harmonomics}
SAF=${SAF:-../shared/data/annotation/hg38_RefSeq_exon.txt.gz}
cargo build --quiet --release --locked --bin harmonomics --example make-scale-cohort
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); --threads $THREADS"
for n in "${SIZES[@]}"; do
  data=target/bench-data/scale-$n
  [[ -s $data/cohort.toml ]] || target/release/examples/make-scale-cohort "$data" "$n" "$SAF"
  # Read the inputs once first, so the figures measure the tool and not the disk: a cohort that
  # was generated long ago (or a 400-patient one, 10.6 GB) has left the page cache, and on these
  # VMs' disks `hash_inputs` alone then takes minutes at 0.06 cores.
  find "$data" -type f -exec cat {} + > /dev/null
  out=$(mktemp -d)
  /usr/bin/time -f "%e %M %P" -o "$out.time" "$BIN" --quiet --threads "$THREADS" run \
    --config "$data/cohort.toml" --out "$out/run" >/dev/null
  read -r wall rss cpu < "$out.time"
  echo
  printf '%s patients x 5 timepoints: wall %s s, cores used %.2f, peak RSS %.2f GiB\n' \
    "$n" "$wall" "$(awk -v c="${cpu%\%}" 'BEGIN { print c / 100 }')" "$(awk -v k="$rss" 'BEGIN { print k / 1048576 }')"
  python3 - "$out/run/manifest.json" <<'PYTHON'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"  {'stage':<22}{'wall s':>9}{'cores':>7}{'peak RSS so far GiB':>21}")
for s in m["stages"]:
    cpu = s.get("cpu_seconds")
    cores = f"{cpu / s['seconds']:.2f}" if cpu is not None and s["seconds"] > 0.05 else "-"
    rss = s.get("peak_rss_bytes")
    rss = f"{rss / 2**30:.2f}" if rss else "-"
    print(f"  {s['name']:<22}{s['seconds']:>9.1f}{cores:>7}{rss:>21}")
covered = sum(s["seconds"] for s in m["stages"])
print(f"  {'(in no stage)':<22}{m['wall_seconds'] - covered:>9.1f}")
PYTHON
  rm -rf "$out" "$out.time"
done
