#!/usr/bin/env bash
# Time exact pr and mar of `ebm factor infer` against libDAI's JTree (driver built by
# build.sh) and Merlin, one thread, runs alternated (ebm, libDAI, Merlin per round),
# medians of 3 rounds; wall seconds of the whole process, file reading included.
#
# Usage: benches/exact_peers/measure.sh [PEERS_PREFIX] [EBM_BINARY]
#   defaults: /tmp/exact_peers and target/release/ebm; data from $EBM_DATA/uai/pr.
# Prints one markdown row per model: ebm pr, ebm mar, libDAI pr / mar, Merlin pr / mar.
set -euo pipefail
prefix="${1:-/tmp/exact_peers}"
ebm="${2:-target/release/ebm}"
data="${EBM_DATA:-../shared/data}/uai/pr"
out="$(mktemp -d)"
export OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
echo "| model | ebm pr s | ebm mar s | libDAI pr / mar s | Merlin pr / mar s |"
echo "|---|---|---|---|---|"
for m in Grids_11 Pedigree_11 CSP_11 Segmentation_11 Promedus_11 DBN_11; do
    uai="$data/$m.uai" evid="$data/$m.uai.evid"
    declare -A t=()
    for round in 1 2 3; do
        for task in pr mar; do
            t[ebm_$task]+=" $(seconds "$ebm" factor infer --task "$task" "$uai" --evid "$evid" --threads 1 --out "$out/$m.$task")"
            t[dai_$task]+=" $(seconds "$prefix/libdai_jtree" "$task" "$uai" "$evid")"
            t[merlin_$task]+=" $(seconds "$prefix/merlin_bin" --input-file "$uai" --evidence-file "$evid" --task "${task^^}" --algorithm bte --output-file "$out/$m.merlin.$task")"
        done
    done
    # shellcheck disable=SC2086
    echo "| $m | $(median ${t[ebm_pr]}) | $(median ${t[ebm_mar]}) | $(median ${t[dai_pr]}) / $(median ${t[dai_mar]}) | $(median ${t[merlin_pr]}) / $(median ${t[merlin_mar]}) |"
    unset t
done
rm -rf "$out"
