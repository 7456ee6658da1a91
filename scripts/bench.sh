#!/usr/bin/env bash
# Engine benchmark: builds large captures from the shared ones (addresses
# rewritten per copy, so flows are many), then runs on the same file in the
# same run: wardwatch (1 worker, and one per core), tshark -z conv,tcp and
# ndpiReader. Prints wall time, packets/s, bytes/s, peak RSS and the ratios.
# Not part of CI.
#
#   bash scripts/bench.sh [SIZE_MB]        (default 1000; ROUNDS=5 runs of each
#                                          wardwatch configuration, interleaved)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1000}
# shellcheck source=scripts/bench-captures.sh
. scripts/bench-captures.sh
mix=bench/mix_${size}.pcap
hosp=bench/hospital_${size}.pcap
bench_capture mix "$size"
bench_capture hospital "$size"

# wardwatch runs take seconds on a shared machine whose speed wanders over
# minutes; the four wardwatch configurations are run in turn, ROUNDS times
# (interleaved, so a slow spell hits them all alike), and each one's median
# reported. The peers run for minutes and are run once.
ROUNDS=${ROUNDS:-5}
interleaved() { # file -> lines "label median_wall_s max_rss_kb", in config order
  local f=$1 n c r
  n=$(nproc)
  local labels=(wardwatch-1core wardwatch-allcores engine-only-1core engine-only-allcores)
  local cmds=(
    "taskset -c 0 $ww analyze --threads 1 --no-progress --format json --out /dev/null $f"
    "$ww analyze --threads $n --no-progress --format json --out /dev/null $f"
    "taskset -c 0 $ww analyze --threads 1 --no-dissect --no-progress --format json --out /dev/null $f"
    "$ww analyze --threads $n --no-dissect --no-progress --format json --out /dev/null $f"
  )
  local walls=("" "" "" "") rss=(0 0 0 0) reads=("" "" "" "")
  for _ in $(seq "$ROUNDS"); do
    for c in 0 1 2 3; do
      warm "$f"
      # shellcheck disable=SC2086
      r=$(WARDWATCH_TIMING=1 measure "${labels[$c]}" ${cmds[$c]}) || return 1
      walls[c]="${walls[c]} $(echo "$r" | awk '{print $2}')"
      # The workers' phase alone (reading, flows, dissection), as the
      # run's own timing lap gives it.
      reads[c]="${reads[c]} $(sed -nE 's/^timing: read\+flows ([0-9.]+)s.*/\1/p' bench/stderr.txt)"
      rss[c]=$(( $(echo "$r" | awk '{print $3}') > rss[c] ? $(echo "$r" | awk '{print $3}') : rss[c] ))
    done
  done
  for c in 0 1 2 3; do
    echo "${labels[$c]} $(printf '%s\n' ${walls[c]} | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p") ${rss[c]}"
  done
  # Ratios within each round (its four runs follow one another, so a slow
  # spell of the machine that outlasts a round hits both sides of a ratio),
  # then their median: "paired <scaling full> <scaling engine> <cost %>
  # <workers' phase scaling full> <... engine>".
  paste <(printf '%s\n' ${walls[0]}) <(printf '%s\n' ${walls[1]}) \
    <(printf '%s\n' ${walls[2]}) <(printf '%s\n' ${walls[3]}) \
    <(printf '%s\n' ${reads[0]}) <(printf '%s\n' ${reads[1]}) \
    <(printf '%s\n' ${reads[2]}) <(printf '%s\n' ${reads[3]}) |
    awk '{ f[NR] = $1 / $2; e[NR] = $3 / $4; c[NR] = (1 - $3 / $1) * 100
           wf[NR] = $5 / $6; we[NR] = $7 / $8 }
      function med(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return a[int((n + 1) / 2)]
      }
      END { printf "paired %.2f %.2f %.0f %.2f %.2f\n", med(f, NR), med(e, NR), med(c, NR), med(wf, NR), med(we, NR) }'
}

# Every run starts with the capture in the page cache: machines like this
# one page out file pages left idle for a few seconds (DAMON reclaim), and a
# run that reads part of the file from disk measures the disk, not the tool.
warm() { cat "$1" >/dev/null; }

measure() { # label cmd... -> prints "label wall_s rss_kb"
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o bench/rss.txt "$@" >/dev/null 2>bench/stderr.txt || {
    echo "bench: $label failed: $(tail -3 bench/stderr.txt)" >&2; return 1; }
  t1=$(date +%s.%N)
  echo "$label $(echo "$t1 - $t0" | bc) $(tail -1 bench/rss.txt)"
}

for f in "$mix" "$hosp"; do
  bytes=$(stat -c %s "$f")
  pkts=$(capinfos -c -M "$f" | awk '/Number of packets/ {print $NF}')
  echo
  echo "== $f: $bytes bytes, $pkts packets"
  mapfile -t ours < <(interleaved "$f")
  [ "${#ours[@]}" = 5 ] || exit 1
  read -r _ pf pe pc wf we <<<"${ours[4]}"
  results=("${ours[0]}" "${ours[1]}")
  engine=("${ours[2]}" "${ours[3]}")
  warm "$f"
  results+=("$(measure ndpiReader taskset -c 0 ndpiReader -q -i "$f")")
  warm "$f"
  results+=("$(measure tshark taskset -c 0 tshark -r "$f" -q -z conv,tcp)")
  printf '%-20s %9s %12s %12s %10s\n' tool wall_s packets/s MB/s peak_MB
  for r in "${results[@]}" "${engine[@]}"; do
    read -r label wall rss <<<"$r"
    printf '%-20s %9.2f %12.0f %12.1f %10.1f\n' "$label" "$wall" \
      "$(echo "$pkts / $wall" | bc -l)" "$(echo "$bytes / $wall / 1000000" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  done
  w1=$(echo "${results[0]}" | awk '{print $2}')
  wn=$(echo "${results[1]}" | awk '{print $2}')
  nd=$(echo "${results[2]}" | awk '{print $2}')
  ts=$(echo "${results[3]}" | awk '{print $2}')
  en=$(echo "${engine[0]}" | awk '{print $2}')
  printf 'dissectors cost: %.0f%% of engine-only throughput\n' "$(echo "(1 - $en / $w1) * 100" | bc -l)"
  enn=$(echo "${engine[1]}" | awk '{print $2}')
  printf 'full pipeline: vs tshark %.1fx, vs ndpiReader %.2fx (one core each); %s cores vs 1: %.2fx\n' \
    "$(echo "$ts / $w1" | bc -l)" "$(echo "$nd / $w1" | bc -l)" "$(nproc)" "$(echo "$w1 / $wn" | bc -l)"
  printf 'engine only:   vs tshark %.1fx, vs ndpiReader %.2fx (one core each); %s cores vs 1: %.2fx\n' \
    "$(echo "$ts / $en" | bc -l)" "$(echo "$nd / $en" | bc -l)" "$(nproc)" "$(echo "$en / $enn" | bc -l)"
  echo "per-round ratios, median of $ROUNDS: $(nproc) cores vs 1: full ${pf}x, engine only ${pe}x; dissectors cost ${pc}%"
  echo "workers' phase alone (read+flows lap, before the report is assembled), $(nproc) cores vs 1, median of $ROUNDS: full ${wf}x, engine only ${we}x"
done
