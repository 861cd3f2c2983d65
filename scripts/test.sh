#!/usr/bin/env bash
# Runs every test: installs what is missing (system packages, the pinned Python tools in .venv),
# generates the full-size Keras fixtures (cached by a stamp), checks formatting, and runs the
# Rust test suite in release mode (burn is far too slow in debug for real models).
#
#   scripts/test.sh [--lint] [extra cargo test arguments]
#     --lint   also run cargo clippy --workspace --all-targets -D warnings
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
lint=0
args=()
for arg in "$@"; do
    case "$arg" in
        --lint) lint=1 ;;
        *) args+=("$arg") ;;
    esac
done

bash scripts/setup.sh --python
bash scripts/fixtures/generate.sh --applications

echo "[test] cargo fmt --check" >&2
cargo fmt --all -- --check
if [ "$lint" = 1 ]; then
    echo "[test] cargo clippy" >&2
    cargo clippy --workspace --all-targets --locked -- -D warnings
fi
echo "[test] cargo test (release)" >&2
cargo test --workspace --release --locked "${args[@]}"
