#!/usr/bin/env bash
# Sets up and runs the demo: the bundled sample capture of a small hospital
# network, analysed into a report (also saved as wardwatch-data/demo-report.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet -p wardwatch
exec ./target/release/wardwatch demo "$@"
