#!/usr/bin/env bash
# Fails if the plugin contract wit/encoder.wit changed incompatibly without a version bump.
#
#   .ci/check-wit-compat.sh                     # against the last committed version on main
#   .ci/check-wit-compat.sh --base REV          # against wit/encoder.wit at REV
#   .ci/check-wit-compat.sh --old A.wit --new B.wit
#
# Which previous version: when the working tree's wit/encoder.wit differs from main's, main's
# (the check before committing); when they are equal, the version before the last commit on main
# that changed the file (the check in CI, on a clean clone: was the latest change versioned?).
#
# Rules (semver, where 0.MINOR is a compatibility class, as the host's `check_contract` applies):
# * only doc comments or formatting changed: fine, any version;
# * anything else changed and the version did not: fail (saying which bump is needed);
# * a bump within the class (0.1.0 -> 0.1.1): the new world must be a compatible evolution of
#   the old one, i.e. every plugin built against the old contract still satisfies the new one
#   (`wasm-tools component semver-check`); otherwise fail: it needs the next class (0.2.0);
# * a bump to a new class (0.1.x -> 0.2.0): fine (the host then refuses older plugins);
# * a lower version: fail.
# It also checks that the host implements the version the WIT declares
# (`CONTRACT_VERSION` in host/src/plugin/mod.rs).
#
# The semantic checks use wasm-tools: $WASM_TOOLS, else `wasm-tools` on PATH, else it is
# installed from crates.io into target/tools (version pinned below, only its `component`
# feature: about 2 minutes on 2 cores, once).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_TOOLS_VERSION=1.263.0
WIT=wit/encoder.wit
PACKAGE=atio:encoder
WORLD=encoder-plugin

die() {
  echo "check-wit-compat: FAIL: $*" >&2
  exit 1
}
note() { echo "check-wit-compat: $*"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the two versions of the file ----------------------------------------------------------------
base="" old_file="" new_file=""
while (($#)); do
  case "$1" in
    --base) base=$2; shift 2 ;;
    --old) old_file=$2; shift 2 ;;
    --new) new_file=$2; shift 2 ;;
    *) die "unknown argument $1 (see the header of $0)" ;;
  esac
done
if [[ -z "$new_file" ]]; then
  new_file=$WIT
fi
if [[ -z "$old_file" ]]; then
  main=main
  git rev-parse --verify --quiet "$main^{commit}" >/dev/null || main=HEAD
  if [[ -z "$base" ]]; then
    if ! git show "$main:$WIT" | cmp -s - "$new_file"; then
      base=$main
    else
      last=$(git log -n 1 --format=%H "$main" -- "$WIT")
      if [[ -z "$last" ]] || ! git rev-parse --verify --quiet "$last^" >/dev/null ||
        ! git cat-file -e "$last^:$WIT" 2>/dev/null; then
        note "no earlier committed version of $WIT; nothing to compare"
        exit 0
      fi
      base="$last^"
    fi
  fi
  old_file=$work/old.wit
  git show "$base:$WIT" >"$old_file" || die "cannot read $WIT at $base"
  note "comparing $new_file with $WIT at $(git rev-parse --short "$base")"
else
  note "comparing $new_file with $old_file"
fi

version_of() {
  sed -n "s/^package $PACKAGE@\([0-9A-Za-z.+-]*\);\$/\1/p" "$1"
}
old_version=$(version_of "$old_file")
new_version=$(version_of "$new_file")
[[ -n "$old_version" ]] || die "$old_file has no \`package $PACKAGE@X.Y.Z;\` line"
[[ -n "$new_version" ]] || die "$new_file has no \`package $PACKAGE@X.Y.Z;\` line"

# The host implements what the WIT declares.
host_version=$(sed -n 's/^pub const CONTRACT_VERSION: &str = "\(.*\)";$/\1/p' host/src/plugin/mod.rs)
if [[ "$new_file" == "$WIT" && "$host_version" != "$new_version" ]]; then
  die "$WIT declares $PACKAGE@$new_version but host/src/plugin/mod.rs has CONTRACT_VERSION = \"$host_version\""
fi

# --- versions --------------------------------------------------------------------------------------
# "MAJOR MINOR PATCH" of a version (a pre-release or build suffix is ignored).
parts() {
  local core=${1%%[-+]*}
  IFS=. read -r major minor patch <<<"$core"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ && "$patch" =~ ^[0-9]+$ ]] ||
    die "version $1 is not MAJOR.MINOR.PATCH"
  echo "$major $minor $patch"
}
# The compatibility class: 0.MINOR for 0.x, else MAJOR.
class() {
  read -r major minor _ <<<"$(parts "$1")"
  if ((major == 0)); then echo "0.$minor"; else echo "$major"; fi
}
# -1, 0 or 1.
compare() {
  read -r a1 a2 a3 <<<"$(parts "$1")"
  read -r b1 b2 b3 <<<"$(parts "$2")"
  for pair in "$a1 $b1" "$a2 $b2" "$a3 $b3"; do
    read -r x y <<<"$pair"
    if ((x < y)); then echo -1; return; fi
    if ((x > y)); then echo 1; return; fi
  done
  echo 0
}
next_patch() {
  read -r major minor patch <<<"$(parts "$1")"
  echo "$major.$minor.$((patch + 1))"
}
next_class() {
  read -r major minor _ <<<"$(parts "$1")"
  if ((major == 0)); then echo "0.$((minor + 1)).0"; else echo "$((major + 1)).0.0"; fi
}

# --- wasm-tools ------------------------------------------------------------------------------------
wasm_tools() {
  if [[ -n "${WASM_TOOLS:-}" ]]; then
    echo "$WASM_TOOLS"
  elif command -v wasm-tools >/dev/null && wasm-tools component semver-check --help >/dev/null 2>&1; then
    echo wasm-tools
  else
    local installed=target/tools/bin/wasm-tools
    if [[ ! -x "$installed" ]]; then
      note "installing wasm-tools $WASM_TOOLS_VERSION from crates.io into target/tools" >&2
      cargo install --quiet wasm-tools --version "$WASM_TOOLS_VERSION" --locked \
        --no-default-features --features component --root target/tools >&2
    fi
    echo "$installed"
  fi
}
WT=$(wasm_tools)

# The WIT as wasm-tools resolves it, without doc comments and the package line: what a change
# of docs or layout leaves equal.
semantic() {
  "$WT" component wit "$1" | grep -v -E '^\s*///' | grep -v -E "^package $PACKAGE@" | grep -v -E '^\s*$'
}
semantic "$old_file" >"$work/old.sem" || die "$old_file is not valid WIT"
semantic "$new_file" >"$work/new.sem" || die "$new_file is not valid WIT"

# Whether a plugin built against world@$1 (file $2) satisfies world@$3 (file $4).
compatible() {
  local combined=$work/combined.wit
  {
    echo "package local:wit-compat;"
    sed "s/^package $PACKAGE@.*;\$/package $PACKAGE@$1 {/" "$2"
    echo "}"
    sed "s/^package $PACKAGE@.*;\$/package $PACKAGE@$3 {/" "$4"
    echo "}"
  } >"$combined"
  "$WT" component semver-check --prev "$PACKAGE/$WORLD@$1" --new "$PACKAGE/$WORLD@$3" "$combined" \
    >"$work/semver.log" 2>&1
}

if cmp -s "$work/old.sem" "$work/new.sem"; then
  note "OK: $PACKAGE@$old_version -> @$new_version: no change beyond doc comments and layout"
  exit 0
fi
echo "--- what changed (doc comments omitted) ---"
diff -u "$work/old.sem" "$work/new.sem" | tail -n +3 || true
echo "-------------------------------------------"

order=$(compare "$old_version" "$new_version")
if ((order > 0)); then
  die "the version went down: $old_version -> $new_version"
fi
if ((order == 0)); then
  if compatible "$old_version" "$old_file" "$(next_patch "$old_version")" "$new_file"; then
    die "the contract changed but its version is still $new_version: bump it to $(next_patch "$new_version") (the change is compatible)"
  fi
  die "the contract changed incompatibly but its version is still $new_version: bump it to $(next_class "$new_version") (and the host's CONTRACT_VERSION), since plugins built against $new_version no longer fit:
$(cat "$work/semver.log")"
fi
if [[ "$(class "$old_version")" == "$(class "$new_version")" ]]; then
  if compatible "$old_version" "$old_file" "$new_version" "$new_file"; then
    note "OK: $old_version -> $new_version is a compatible change (plugins built against $old_version still fit)"
    exit 0
  fi
  die "$old_version -> $new_version stays in compatibility class $(class "$new_version").x, but plugins built against $old_version no longer fit; bump to $(next_class "$old_version") instead:
$(cat "$work/semver.log")"
fi
note "OK: $old_version -> $new_version starts compatibility class $(class "$new_version").x: a breaking change, allowed; hosts implementing it refuse plugins built against $(class "$old_version").x"
