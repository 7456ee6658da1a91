# Sourced by scripts/bench.sh and scripts/bench-memory.sh: checks for
# ../shared, installs the peers (as root), builds wardwatch, converts the
# shared captures to classic pcap under bench/in, and defines bench_capture.
shared=../shared
[ -d "$shared/data/pcap" ] || { echo "bench: needs ../shared/data" >&2; exit 1; }
if [ "$(id -u)" = 0 ]; then
  for p in tshark libndpi-bin time; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$p" >/dev/null
  done
fi
bash scripts/setup.sh
cargo build --release --quiet -p wardwatch
ww=./target/release/wardwatch
mkdir -p bench/in
for f in $(find "$shared/data/pcap" -name '*.pcap*') tests/captures/*.pcap; do
  out="bench/in/$(basename "$f").pcap"
  [ -s "$out" ] || editcap -F pcap "$f" "$out" 2>/dev/null || true
done

# bench_capture KIND SIZE_MB: makes bench/KIND_SIZE.pcap unless it exists,
# addresses rewritten per copy (make_bench_pcap.py). KIND is `mix` (every
# shared capture) or `hospital` (DICOM transfers, large segments, with
# HL7, DNS and web).
bench_capture() {
  local out="bench/${1}_${2}.pcap"
  [ -s "$out" ] && return
  case $1 in
    mix) python3 "$shared/tools/make_bench_pcap.py" "$out" "$2" bench/in/*.pcap ;;
    hospital) python3 "$shared/tools/make_bench_pcap.py" "$out" "$2" \
      bench/in/dicom_*.pcap bench/in/hl7_*.pcap bench/in/dns_a_aaaa_mx__suricata.pcap.pcap \
      bench/in/tls12_full_handshake__ndpi-443-curl.pcap.pcap ;;
  esac
}
