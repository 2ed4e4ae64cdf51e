#!/bin/sh
# Stages the OpenTelemetry protocol protos (opentelemetry/proto/...) that the
# OTLP exporter needs into OUTDIR for protoc-c.
#
# usage: fetch-otel-protos.sh OUTDIR
#
# They come from the Maven artifact pinned in scripts/versions.sh (the jar
# carries the .proto files beside the Java classes): fetched once with Maven's
# own client (mvn dependency:copy), checked against its pinned SHA-256, and
# kept in the cache ($TLW_CACHE_DIR, default ${XDG_CACHE_HOME:-$HOME/.cache}/tlw)
# so later builds work offline.
#
# protoc-c 1.4 (Debian 12) refuses proto3 `optional` fields. metrics.proto has
# six (sum, min and max of HistogramDataPoint and ExponentialHistogramDataPoint).
# A proto3 `optional` field is defined as a field inside a one-field oneof of
# its own (a "synthetic oneof"), so each is rewritten into exactly that:
#     optional double sum = 5;   ->   oneof _sum { double sum = 5; }
# Same field number, same type, same wire bytes, and presence is kept (the
# generated struct has a _sum_case member saying whether sum is set). The
# rewrite is checked: the build fails if a proto still says `optional` or if
# the number of rewritten fields is not the expected six.
set -eu

out=${1:?usage: fetch-otel-protos.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../scripts/versions.sh"

cache=${TLW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tlw}
artifact="$TLW_OTEL_PROTO_MAVEN_GROUP:$TLW_OTEL_PROTO_MAVEN_ARTIFACT:$TLW_OTEL_PROTO_MAVEN_VERSION"
jar="$cache/$TLW_OTEL_PROTO_MAVEN_ARTIFACT-$TLW_OTEL_PROTO_MAVEN_VERSION.jar"

fail() {
  echo "fetch-otel-protos: $*" >&2
  echo "fetch-otel-protos: the OpenTelemetry protos are needed to build. Either let the build fetch" >&2
  echo "fetch-otel-protos: $artifact with mvn (Maven, network to Maven Central)," >&2
  echo "fetch-otel-protos: or put that jar in the cache as $jar." >&2
  exit 1
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }

if [ ! -f "$jar" ] || [ "$(sha256 "$jar")" != "$TLW_OTEL_PROTO_MAVEN_SHA256" ]; then
  command -v mvn >/dev/null 2>&1 || fail "mvn is not installed and $jar is not cached"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/fetch-otel.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch-otel-protos: mvn dependency:copy $artifact" >&2
  mvn -q -B "org.apache.maven.plugins:maven-dependency-plugin:$TLW_MAVEN_DEPENDENCY_PLUGIN_VERSION:copy" \
    -Dartifact="$artifact" -DoutputDirectory="$tmp/out" -Dmdep.useBaseVersion=true \
    >"$tmp/mvn.log" 2>&1 || { cat "$tmp/mvn.log" >&2; fail "mvn dependency:copy failed"; }
  got="$tmp/out/$TLW_OTEL_PROTO_MAVEN_ARTIFACT-$TLW_OTEL_PROTO_MAVEN_VERSION.jar"
  [ -f "$got" ] || fail "mvn produced no $(basename "$got")"
  sum=$(sha256 "$got")
  [ "$sum" = "$TLW_OTEL_PROTO_MAVEN_SHA256" ] ||
    fail "checksum mismatch for $artifact: got $sum, want $TLW_OTEL_PROTO_MAVEN_SHA256"
  mv "$got" "$jar"
fi

rm -rf "$out"
mkdir -p "$out"
# A jar is a zip file; python3 reads it where unzip may be missing.
python3 - "$jar" "$out" <<'PY' || fail "$jar: cannot extract opentelemetry/proto/*.proto"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if n.startswith("opentelemetry/proto/") and n.endswith(".proto")]
    if not names:
        sys.exit("no opentelemetry/proto/*.proto in the jar")
    for n in names:
        z.extract(n, sys.argv[2])
PY

metrics="$out/opentelemetry/proto/metrics/v1/metrics.proto"
[ -f "$metrics" ] || fail "$jar has no opentelemetry/proto/metrics/v1/metrics.proto"
n=$(grep -cE '^[[:space:]]*optional double (sum|min|max) = [0-9]+;' "$metrics" || true)
[ "$n" = 6 ] || fail "$metrics: expected 6 proto3 optional fields (sum, min, max), found $n; \
check the rewrite in proto/fetch-otel-protos.sh against the new version"
sed -E 's/^([[:space:]]*)optional (double) (sum|min|max) = ([0-9]+);/\1oneof _\3 { \2 \3 = \4; }/' \
  "$metrics" >"$metrics.tmp" && mv "$metrics.tmp" "$metrics"
if grep -rnE '^[[:space:]]*optional ' "$out/opentelemetry" >&2; then
  fail "a proto3 optional field is left that protoc-c 1.4 refuses (above)"
fi
