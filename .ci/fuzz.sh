#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), starting from the checked-in
# corpus (fuzz/corpus/<target>/, read-only here: new inputs go to a scratch directory).
#
# Stable toolchain only (rust-toolchain.toml pins 1.95.0; no nightly is available): cargo-fuzz
# runs on stable with `--sanitizer none`. libFuzzer's coverage instrumentation (-Cpasses=sancov-
# module, stable codegen flags) still guides the search; what is lost is AddressSanitizer, which
# atio's safe Rust does not need to turn memory errors into crashes. A crash (panic, abort, OOM,
# timeout) stops the run, is saved under fuzz/artifacts/<target>/, and fails this script.
#
# Usage: .ci/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true

if ! command -v cargo-fuzz >/dev/null; then
  # 0.13 builds with the pinned toolchain; --locked keeps its own dependencies as released;
  # --debug: it only drives cargo, so an unoptimised build (faster to compile) does.
  cargo install cargo-fuzz --version '^0.13' --locked --debug
fi

# Compiled plugins are cached: the plugin_load target compiles every valid component it finds.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ATIO_CACHE_DIR="$scratch/plugin-cache"
export ATIO_GUEST_ZSTD=${ATIO_GUEST_ZSTD:-1}

# The instrumented build of atio (wasmtime, arrow, parquet) takes ~18 min cold on 2 cores:
# ATIO_FUZZ_TARGET_DIR can point at a directory kept between runs.
target_dir=${ATIO_FUZZ_TARGET_DIR:-$PWD/fuzz/target}
# cargo-fuzz builds with one codegen unit (fastest fuzzing, slowest build); CI's short smoke run
# sets ATIO_FUZZ_CODEGEN_UNITS=16 to build in parallel and fuzz a little slower.
build_flags=(--sanitizer none --target-dir "$target_dir")
if [ -n "${ATIO_FUZZ_CODEGEN_UNITS:-}" ]; then
  build_flags+=(--codegen-units "$ATIO_FUZZ_CODEGEN_UNITS")
fi
# ... and ATIO_FUZZ_OPT_LEVEL=1, a build ~1.5 min shorter whose targets run somewhat slower.
if [ -n "${ATIO_FUZZ_OPT_LEVEL:-}" ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL="$ATIO_FUZZ_OPT_LEVEL"
fi
cd fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

build_started=$SECONDS
# One cargo build for every target (instrumented atio with wasmtime and arrow: the slow part).
cargo fuzz build "${build_flags[@]}"
echo "fuzz build: $((SECONDS - build_started)) s"

for target in "${targets[@]}"; do
  mkdir -p "$scratch/corpus/$target"
  log="$scratch/$target.log"
  echo "=== fuzz $target for ${seconds}s"
  # The columnar inputs must not allocate far beyond their data (issue: a 641-byte IPC file once
  # drove atio to 8 GiB): no single allocation of 256 MiB, no more than 1 GiB resident.
  memory=(-rss_limit_mb=4096)
  case $target in
    input_ipc | input_parquet) memory=(-rss_limit_mb=1024 -malloc_limit_mb=256) ;;
  esac
  # -print_final_stats: the execution count RELIABILITY.md quotes (stat::number_of_executed_units).
  if ! cargo fuzz run "${build_flags[@]}" "$target" \
    "$scratch/corpus/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=30 "${memory[@]}" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz target $target FAILED; the crashing input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb' "$log"
  echo "corpus: $(find "$scratch/corpus/$target" -type f | wc -l) new inputs"
done
