#!/usr/bin/env bash
# Runs every test: installs what is missing (system packages, the pinned Python tools in .venv),
# generates the full-size Keras and ONNX fixtures (cached by stamps), checks formatting, and runs the
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

echo "[test] cargo fmt --check" >&2
cargo fmt --all -- --check

# The release build (burn, tract: the longest step on a clean machine) runs while the fixtures
# are generated: Python is mostly single-threaded there, so the two overlap well on 2 cores.
echo "[test] building the tests (release) while the fixtures are generated" >&2
build_log="$(mktemp)"
cargo test --workspace --release --locked --no-run >"$build_log" 2>&1 &
build_pid=$!
bash scripts/fixtures/generate.sh --applications --onnx
if ! wait "$build_pid"; then
    cat "$build_log" >&2
    echo "[test] the build failed" >&2
    exit 1
fi
rm -f "$build_log"
if [ "$lint" = 1 ]; then
    echo "[test] cargo clippy" >&2
    cargo clippy --workspace --all-targets --locked -- -D warnings
fi
echo "[test] cargo test (release)" >&2
cargo test --workspace --release --locked "${args[@]}"
