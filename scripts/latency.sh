#!/usr/bin/env bash
# Live-latency benchmark (not part of CI; needs root): replays background
# traffic with a DNS query for a watched domain every EVERY frames into a
# veth pair inside a network namespace this script creates, at PPS packets
# per second with tcpreplay, while `wardwatch watch` captures the other
# end. Each query completes a finding (ioc-match) in one packet; so do, every
# 20 queries, a port scan's last refused probe, a connection to a watched
# address, an internet client's accepted connection and the segment that
# takes an upload over 2 MB (see scripts/latency_pcap.py). The watch writes, per finding, the seconds from
# its last evidence packet's capture timestamp to the moment the finding was
# written. Prints p50/p99/max per kind and rule, and the drops.
#
#   bash scripts/latency.sh [PPS] [PACKETS] [EVERY]   (default 100000 2000000 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
pps=${1:-100000}
packets=${2:-2000000}
every=${3:-5000}
[ "$(id -u)" = 0 ] || { echo "latency: needs root (network namespace)" >&2; exit 1; }
for p in tcpreplay tshark; do
  command -v $p >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q $p >/dev/null
done
bash scripts/setup.sh
cargo build --release --quiet -p wardwatch
ww=$PWD/target/release/wardwatch
bg=bench/hospital_1000.pcap
[ -s "$bg" ] || bash scripts/bench.sh 1000 >/dev/null
mkdir -p bench/latency
replay=bench/latency/replay_${packets}_${every}_v4.pcap
if [ ! -s "$replay" ]; then
  editcap -F pcap -r "$bg" bench/latency/bg.pcap "1-$packets"
  python3 scripts/latency_pcap.py bench/latency/bg.pcap "$replay" "$packets" "$every" watched-c2.example
  rm -f bench/latency/bg.pcap
fi
data=$(mktemp -d)
mkdir -p "$data/indicators"
printf 'watched-c2.example\n185.220.101.7\n' > "$data/indicators/watched.txt"
# Uploads of 2 MB count as exfiltration here, so that the replay can hold
# twenty of them.
printf '[detect]\nexfil_bytes_other = 2000000\n' > "$data/wardwatch.toml"
ns=wwlat$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link add wwa type veth peer name wwb
ip netns exec "$ns" ip link set wwa up
ip netns exec "$ns" ip link set wwb up
lines=bench/latency/findings.jsonl
rm -f "$lines"
secs=$(( packets / pps + 20 ))
ip netns exec "$ns" "$ww" --data-dir "$data" watch -i wwb --duration "${secs}s" --out "$lines" \
  --report bench/latency/report.json ${WATCH_ARGS:-} 2>bench/latency/watch.err &
wpid=$!
sleep 3
ip netns exec "$ns" tcpreplay -q -i wwa --pps "$pps" "$replay" 2>&1 | grep -E "Actual|Rated|Failed" || true
wait $wpid || { cat bench/latency/watch.err; exit 1; }
tail -1 bench/latency/watch.err
python3 - "$lines" bench/latency/report.json "$pps" <<'PY'
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
by = collections.defaultdict(list)
for x in lines:
    if x["since_last_evidence_s"] is not None:
        by[x["finding"]["kind"] + "/" + x["finding"]["rule"]].append(x["since_last_evidence_s"])
st = json.load(open(sys.argv[2]))["stats"]
print(f"replayed at {sys.argv[3]} packets/s: captured {st['packets']} packets, kernel drops {st.get('kernel_drops')}")
print("latency from the last evidence packet to the finding written, by kind:")
for kind, v in sorted(by.items()):
    v.sort()
    q = lambda p: v[min(len(v) - 1, int(p * len(v)))] * 1000
    print(f"  {kind:45} n={len(v):5}  p50 {q(0.5):6.0f} ms  p99 {q(0.99):6.0f} ms  max {v[-1] * 1000:6.0f} ms")
PY
