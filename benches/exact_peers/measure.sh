#!/usr/bin/env bash
# Time exact pr and mar of `ebm factor infer` against libDAI's JTree (driver built by
# build.sh) and Merlin (bte), one thread, runs alternated (per round: ebm, libDAI, Merlin,
# for pr then mar), medians of 3 rounds. Times are the CPU seconds (user + sys, GNU time)
# of the whole process, file reading included: the machine is shared, and CPU time is
# what the other jobs disturb least. Wall medians go to the log.
#
# Every answer is checked: each pr run's log10 Z against the model's .PR reference (to
# 1e-3; Merlin prints ln Z), and each peer's mar run against ebm's marginals (largest
# absolute difference), so a wrong or failed peer run shows in the table as "wrong".
#
# Usage: benches/exact_peers/measure.sh [PEERS_PREFIX] [EBM_BINARY] [LOG]
#   defaults: /tmp/exact_peers, target/release/ebm and /tmp/exact_peers_measure.log;
#   data from $EBM_DATA/uai/pr (default ../shared/data); MODELS overrides the list.
# Prints one markdown row per model:
#   model | ebm pr | ebm mar | mar/pr | libDAI pr / mar | Merlin pr / mar
set -euo pipefail
prefix="${1:-/tmp/exact_peers}"
ebm="${2:-target/release/ebm}"
log="${3:-/tmp/exact_peers_measure.log}"
data="${EBM_DATA:-../shared/data}/uai/pr"
models="${MODELS:-Grids_11 Pedigree_11 CSP_11 Segmentation_11 Promedus_11 DBN_11}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1
: >"$log"

# run NAME STDOUT_FILE COMMAND...: append "cpu wall" seconds of one run to $out/NAME.
run() {
    local name="$1" stdout="$2"
    shift 2
    /usr/bin/time -f '%U %S %e' -o "$out/time" "$@" >"$stdout" 2>>"$log" || echo "failed: $*" >>"$log"
    awk '{printf "%.3f %.3f\n", $1 + $2, $3}' "$out/time" >>"$out/$name"
}
# median NAME COLUMN: the median of 3 runs.
median() { awk -v c="$2" '{print $c}' "$out/$1" | sort -g | sed -n 2p; }

# check_pr KIND FILE REFERENCE: "ok" when FILE's log10 Z is within 1e-3 of the reference.
check_pr() {
    python3 - "$@" <<'EOF'
import math, re, sys
kind, path, ref = sys.argv[1:]
want = float(open(ref).read().split()[1])
try:
    text = open(path).read().split()
    i = text.index("PR")
    got = float(text[i + 1])
    if kind == "merlin":
        got /= math.log(10)
    print("ok" if abs(got - want) < 1e-3 else f"wrong ({got:.6f} vs {want})")
except Exception as e:
    print(f"wrong (no answer: {e})")
EOF
}

# check_mar FILE EBM_FILE: the largest absolute difference of the marginals (UAI MAR).
check_mar() {
    python3 - "$@" <<'EOF'
import sys
def read(path):
    t = open(path).read().split()
    i = t.index("MAR") + 1
    n = int(t[i]); i += 1
    out = []
    for _ in range(n):
        k = int(t[i]); i += 1
        out.append([float(x) for x in t[i:i + k]]); i += k
    return out
try:
    a, b = read(sys.argv[1]), read(sys.argv[2])
    d = max(abs(x - y) for u, v in zip(a, b) for x, y in zip(u, v))
    print("ok" if len(a) == len(b) and d < 1e-4 else f"wrong (max diff {d:.2e})")
except Exception as e:
    print(f"wrong (no answer: {e})")
EOF
}

echo "| model | ebm pr s | ebm mar s | mar/pr | libDAI pr / mar s | Merlin pr / mar s |"
echo "|---|---|---|---|---|---|"
for m in $models; do
    uai="$data/$m.uai" evid="$data/$m.uai.evid" ref="$data/$m.uai.PR"
    rm -f "$out"/*.t
    status=""
    for round in 1 2 3; do
        for task in pr mar; do
            T="${task^^}"
            run "ebm_$task.t" /dev/null "$ebm" factor infer --task "$task" "$uai" --evid "$evid" --threads 1 --out "$out/ebm.$task"
            run "dai_$task.t" "$out/dai.$task" "$prefix/libdai_jtree" "$task" "$uai" "$evid"
            run "merlin_$task.t" /dev/null "$prefix/merlin_bin" --input-file "$uai" --evidence-file "$evid" --task "$T" --algorithm bte --output-file "$out/merlin.$task"
            if [ "$task" = pr ]; then
                for kind in ebm dai; do
                    r="$(check_pr "$kind" "$out/$kind.pr" "$ref")"
                    [ "$r" = ok ] || status+=" $kind pr round $round: $r;"
                done
                r="$(check_pr merlin "$out/merlin.pr.PR" "$ref")"
                [ "$r" = ok ] || status+=" merlin pr round $round: $r;"
            else
                r="$(check_mar "$out/dai.mar" "$out/ebm.mar")"
                [ "$r" = ok ] || status+=" dai mar round $round: $r;"
                r="$(check_mar "$out/merlin.mar.MAR" "$out/ebm.mar")"
                [ "$r" = ok ] || status+=" merlin mar round $round: $r;"
            fi
        done
    done
    for k in ebm_pr ebm_mar dai_pr dai_mar merlin_pr merlin_mar; do
        echo "$m $k cpu: $(awk '{print $1}' "$out/$k.t" | tr '\n' ' ') wall: $(awk '{print $2}' "$out/$k.t" | tr '\n' ' ')" >>"$log"
    done
    [ -z "$status" ] || echo "$m checks:$status" >>"$log"
    pr="$(median ebm_pr.t 1)" mar="$(median ebm_mar.t 1)"
    ratio="$(awk -v a="$mar" -v b="$pr" 'BEGIN{printf "%.2f", a / b}')"
    echo "| $m | $pr | $mar | $ratio | $(median dai_pr.t 1) / $(median dai_mar.t 1) | $(median merlin_pr.t 1) / $(median merlin_mar.t 1) |${status:+ checks:$status}"
done
