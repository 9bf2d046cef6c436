#!/usr/bin/env bash
# The whole test suite, with what it needs installed. Used by the README and by .ci/run.
#   scripts/test.sh            format check, clippy, every test (unit, integration, doc)
set -euo pipefail
cd "$(dirname "$0")/.."

# One target dir that survives between runs (a cold DataFusion build takes 20-30 minutes).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/plexus-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"

need() { command -v "$1" >/dev/null 2>&1; }

# Tools the tests use.
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "==> installing cargo-nextest"
  cargo install cargo-nextest --locked
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
if ! need python3; then
  echo "==> installing python3 (the JaffleGaggle figure checker is a Python script)"
  apt-get update -qq && apt-get install -y -qq python3 >/dev/null
fi

# The web app's browser tests: Debian's Chromium driven by playwright-core from Node.js.
# Only what is missing: a Node.js that bundles npm (NodeSource) conflicts with Debian's npm.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
need node || missing+=(nodejs)
need npm || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} (browser tests)"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -d crates/plexus-serve/tests/browser/node_modules/playwright-core ]; then
  echo "==> installing playwright-core (browser tests; never downloads a browser)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix crates/plexus-serve/tests/browser --no-audit --no-fund --silent
fi
# Cube REST compatibility: Cube's own JavaScript client against the server.
if [ ! -d crates/plexus-serve/tests/cube/node_modules/@cubejs-client/core ]; then
  echo "==> installing @cubejs-client/core (Cube API tests)"
  npm ci --prefix crates/plexus-serve/tests/cube --no-audit --no-fund --silent
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "==> cargo nextest run"
cargo nextest run --workspace --no-fail-fast

echo "==> doc tests"
cargo test --workspace --doc --quiet

