#!/bin/sh
# Stages the Temporal API protos (temporal/api/...) into OUTDIR for protoc-c.
#
# usage: fetch-protos.sh OUTDIR [API_DIR]
#
# With API_DIR (configure --with-temporal-api=DIR, a checkout of temporalio/api)
# the protos are copied from there. Otherwise they come from the npm package
# pinned in scripts/versions.sh: fetched once with `npm pack`, checked against
# its pinned SHA-256, and kept in a cache ($TLW_CACHE_DIR, default
# ${XDG_CACHE_HOME:-$HOME/.cache}/tlw) so later builds work offline.
set -eu

out=${1:?usage: fetch-protos.sh OUTDIR [API_DIR]}
api_dir=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../scripts/versions.sh"

fail() {
  echo "fetch-protos: $*" >&2
  echo "fetch-protos: the Temporal API protos are needed to build. Either let the build fetch" >&2
  echo "fetch-protos: $TLW_PROTO_NPM_PACKAGE@$TLW_PROTO_NPM_VERSION with npm (network to the npm registry)," >&2
  echo "fetch-protos: put its tarball in the cache ($cache), or run configure --with-temporal-api=DIR" >&2
  echo "fetch-protos: with a checkout of temporalio/api." >&2
  exit 1
}

cache=${TLW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tlw}
rm -rf "$out"
mkdir -p "$out"

if [ -n "$api_dir" ]; then
  [ -f "$api_dir/temporal/api/workflowservice/v1/request_response.proto" ] ||
    fail "$api_dir has no temporal/api/workflowservice/v1/request_response.proto"
  cp -R "$api_dir/temporal" "$out/"
  exit 0
fi

sha256() { sha256sum "$1" | cut -d' ' -f1; }
name=$(echo "$TLW_PROTO_NPM_PACKAGE" | sed 's/^@//; s#/#-#')
tarball="$cache/$name-$TLW_PROTO_NPM_VERSION.tgz"

if [ ! -f "$tarball" ] || [ "$(sha256 "$tarball")" != "$TLW_PROTO_NPM_SHA256" ]; then
  command -v npm >/dev/null 2>&1 || fail "npm is not installed and $tarball is not cached"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch-protos: npm pack $TLW_PROTO_NPM_PACKAGE@$TLW_PROTO_NPM_VERSION" >&2
  (cd "$tmp" && npm pack --silent "$TLW_PROTO_NPM_PACKAGE@$TLW_PROTO_NPM_VERSION" >/dev/null 2>"$tmp/npm.log") ||
    { cat "$tmp/npm.log" >&2; fail "npm pack failed"; }
  got="$tmp/$name-$TLW_PROTO_NPM_VERSION.tgz"
  [ -f "$got" ] || fail "npm pack produced no $name-$TLW_PROTO_NPM_VERSION.tgz"
  sum=$(sha256 "$got")
  [ "$sum" = "$TLW_PROTO_NPM_SHA256" ] ||
    fail "checksum mismatch for $TLW_PROTO_NPM_PACKAGE@$TLW_PROTO_NPM_VERSION: got $sum, want $TLW_PROTO_NPM_SHA256"
  mv "$got" "$tarball"
fi

inner=package/sdk-core/crates/protos/protos/api_upstream/temporal
tar -xzf "$tarball" -C "$out" --strip-components=6 "$inner" ||
  fail "$tarball has no $inner"
[ -f "$out/temporal/api/workflowservice/v1/request_response.proto" ] ||
  fail "$tarball: temporal/api/workflowservice/v1/request_response.proto missing"
