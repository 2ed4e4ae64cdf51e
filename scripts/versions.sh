# Pinned versions of everything the build and the test bed fetch.
# Sourced by scripts/install-deps and proto/fetch-protos.sh.

# Debian 12 (bookworm) packages needed to build and test.
TLW_APT_PACKAGES="build-essential autoconf automake libtool pkg-config \
libev-dev libgrpc-dev libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev \
protobuf-compiler libconfig-dev libjansson-dev libcurl4-openssl-dev \
libcmocka-dev clang libclang-rt-14-dev clang-format nginx-light openssl python3-venv \
curl ca-certificates libssl-dev \
zip busybox-static"

# The AWS Lambda Runtime Interface Emulator (go install).
TLW_RIE_MODULE="github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
TLW_RIE_VERSION="v0.0.0-20261030222936-bef5c4ba774d"

# The Temporal API protos come from this npm package (see proto/README.md).
TLW_PROTO_NPM_PACKAGE="@temporalio/core-bridge"
TLW_PROTO_NPM_VERSION="1.24.0"
TLW_PROTO_NPM_SHA256="5f58de2e98bdc4711be3cbb06cc08bc39cb274cbbac41d02f0352bfe1630a8f7"

# The OpenTelemetry protocol protos come from this Maven artifact (the jar
# carries the .proto files), fetched with mvn (see proto/fetch-otel-protos.sh).
TLW_OTEL_PROTO_MAVEN_GROUP="io.opentelemetry.proto"
TLW_OTEL_PROTO_MAVEN_ARTIFACT="opentelemetry-proto"
TLW_OTEL_PROTO_MAVEN_VERSION="1.11.0-alpha"
TLW_OTEL_PROTO_MAVEN_SHA256="a5f47de1368ca82aec597e74d0be6969763707483da6672471d703d454d65b5b"
TLW_MAVEN_DEPENDENCY_PLUGIN_VERSION="3.8.1"

# The OpenTelemetry Collector the e2e tests export to, built with the
# collector's builder from tests/e2e/otelcol-builder.yaml (go install).
TLW_OTELCOL_BUILDER_MODULE="go.opentelemetry.io/collector/cmd/builder"
TLW_OTELCOL_VERSION="v0.165.0"
