#!/bin/sh
# Branch and bound against toulbar2 1.1.1 (`apt-get install toulbar2`) on the MAP models:
# each model's two commands alternate (toulbar2, ebm, toulbar2, ebm, ...) RUNS times
# (default 3), each run timed as a whole process by /usr/bin/time (user + sys seconds),
# and the medians are printed side by side with ebm's proof flag.
#
#   benches/bnb_peers/vs_toulbar2.sh [RUNS] [LIMIT_SECONDS]
#
# DATA (default ../shared/data/uai) holds map/ and toulbar2/; EBM (default
# target/release/ebm) is the binary. toulbar2 writes its .MPE files into a scratch folder.
set -eu
RUNS=${1:-3}
LIMIT=${2:-60}
DATA=${DATA:-../shared/data/uai}
EBM=$(realpath "${EBM:-target/release/ebm}")
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
cpu() { # the user + sys seconds of one run of "$@"
    /usr/bin/time -f '%U %S' -o "$SCRATCH/time" "$@" >"$SCRATCH/out" 2>&1 || true
    awk '{ print $1 + $2 }' "$SCRATCH/time"
}
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "model | toulbar2 s | ebm bnb s | ratio | ebm proved"
for m in map/Segmentation_12 toulbar2/network toulbar2/water toulbar2/grid4x4 \
    toulbar2/grid4x4_with_triplets map/Promedas_11 toulbar2/GeomSurf-7-gm256 \
    toulbar2/pedigree9 map/Grids_26 map/ProteinFolding_11; do
    f="$(realpath "$DATA/$m.uai")"
    evid=""
    [ -f "$f.evid" ] && evid="$f.evid"
    : >"$SCRATCH/tb"
    : >"$SCRATCH/ebm"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        (cd "$SCRATCH" && cpu toulbar2 "$f" $evid -timer="$LIMIT") >>"$SCRATCH/tb"
        cpu "$EBM" factor infer "$f" ${evid:+--evid "$evid"} --task map --method bnb \
            --time-limit "$LIMIT" --threads 1 --json >>"$SCRATCH/ebm"
        i=$((i + 1))
    done
    proved=$(grep -o '"optimal":[a-z]*' "$SCRATCH/out" | cut -d: -f2)
    tb=$(median <"$SCRATCH/tb")
    ebm=$(median <"$SCRATCH/ebm")
    # /usr/bin/time counts in 10 ms steps: a run under that reads 0, and has no ratio.
    ratio=$(awk -v a="$ebm" -v b="$tb" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    echo "$(basename "$m") | $tb | $ebm | $ratio | $proved"
done
