#!/usr/bin/env bash
# Sets up and runs every test: formatting, lints, unit, integration,
# differential (against tshark on ../shared/data) and live-capture tests,
# and the fuzz corpora replayed as regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [ ! -d ../shared/data ]; then
  echo "NOTE: ../shared/data is absent: the differential tests will say SKIPPED" >&2
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace
