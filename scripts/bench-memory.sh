#!/usr/bin/env bash
# Memory benchmark: peak RSS of `wardwatch analyze` on captures that overflow
# every cap (README, "Memory is bounded"): 4 GB of hospital traffic, 3 GB of
# all the shared captures, the 4 GB followed by 600,000 SYNs that fill the
# flow table, the 4 GB after a sweep that 300,000 of the site's hosts
# answer (they fill the site's half of the host table), and the 4 GB
# followed by 400,000 site hosts each visiting an internet server twice
# (once the flow digest is full, what its callback watch takes), and 40,000
# connections each starting a message that never ends (HL7, FHIR, TLS,
# DICOM: what the dissectors' buffers take) before the 4 GB. One thread and one
# per core, RUNS times each; prints the highest peak. Needs ../shared/data
# and ~11 GB of disk. Not part of CI.
#
#   bash scripts/bench-memory.sh            (RUNS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-captures.sh
. scripts/bench-captures.sh
hosp=bench/hospital_4000.pcap
mix=bench/mix_3000.pcap
scan=bench/scan_600k.pcap
sweep=bench/sweep_300k.pcap
visits=bench/visits_400k.pcap
hold=bench/hold_40k.pcap
bench_capture hospital 4000
bench_capture mix 3000
[ -s "$scan" ] || python3 scripts/make_scan_pcap.py "$scan" scan 600000 1800000000
[ -s "$sweep" ] || python3 scripts/make_scan_pcap.py "$sweep" sweep 300000 1500000000
[ -s "$hold" ] || python3 scripts/make_scan_pcap.py "$hold" hold 40000 1500000000
[ -s "$visits" ] || python3 scripts/make_scan_pcap.py "$visits" visits 400000 1800000000
RUNS=${RUNS:-2}
printf '%-36s %8s %12s %10s  %s\n' capture threads peak_KiB peak_MiB "caps reached (stats)"
for set in "$hosp" "$mix" "$hosp $scan" "$sweep $hosp" "$hosp $visits" "$hold $hosp"; do
  for t in 1 "$(nproc)"; do
    peak=0
    for _ in $(seq "$RUNS"); do
      # shellcheck disable=SC2086
      /usr/bin/time -f '%M' -o bench/rss.txt "$ww" analyze --threads "$t" --no-progress \
        --format json --out bench/memory-report.json $set 2>bench/stderr.txt
      kb=$(tail -1 bench/rss.txt)
      [ "$kb" -gt "$peak" ] && peak=$kb
    done
    caps=$(python3 -c '
import json, sys
s = json.load(open("bench/memory-report.json"))["stats"]
keys = ("evicted_flows", "evicted_hosts", "observations_dropped", "digest_dropped",
        "dissection_shed")
print(" ".join("%s=%d" % (k, s[k]) for k in keys if s.get(k)))')
    printf '%-36s %8s %12s %10.0f  %s\n' "$(basename -a $set | paste -sd+)" "$t" "$peak" \
      "$(echo "$peak / 1024" | bc -l)" "$caps"
  done
done
rm -f bench/memory-report.json
