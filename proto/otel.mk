# proto/otel.mk: included by proto/proto.mk. The OpenTelemetry protocol
# (OTLP) messages the exporter sends, compiled by protoc-c at build time into
# libtlwproto beside the Temporal API. The protos are fetched by
# proto/fetch-otel-protos.sh (pinned Maven artifact, checksummed, cached),
# never committed; see proto/README.md for the proto3 `optional` rewrite.

OTEL_PROTOS = \
	opentelemetry/proto/common/v1/common.proto \
	opentelemetry/proto/resource/v1/resource.proto \
	opentelemetry/proto/metrics/v1/metrics.proto \
	opentelemetry/proto/trace/v1/trace.proto \
	opentelemetry/proto/collector/metrics/v1/metrics_service.proto \
	opentelemetry/proto/collector/trace/v1/trace_service.proto

OTEL_GEN_C = \
	proto/otel-gen/opentelemetry/proto/common/v1/common.pb-c.c \
	proto/otel-gen/opentelemetry/proto/resource/v1/resource.pb-c.c \
	proto/otel-gen/opentelemetry/proto/metrics/v1/metrics.pb-c.c \
	proto/otel-gen/opentelemetry/proto/trace/v1/trace.pb-c.c \
	proto/otel-gen/opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.c \
	proto/otel-gen/opentelemetry/proto/collector/trace/v1/trace_service.pb-c.c
OTEL_GEN_H = \
	proto/otel-gen/opentelemetry/proto/common/v1/common.pb-c.h \
	proto/otel-gen/opentelemetry/proto/resource/v1/resource.pb-c.h \
	proto/otel-gen/opentelemetry/proto/metrics/v1/metrics.pb-c.h \
	proto/otel-gen/opentelemetry/proto/trace/v1/trace.pb-c.h \
	proto/otel-gen/opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h \
	proto/otel-gen/opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h
nodist_libtlwproto_la_SOURCES += $(OTEL_GEN_C) $(OTEL_GEN_H)

EXTRA_DIST += proto/fetch-otel-protos.sh proto/otel.mk proto/README.md

BUILT_SOURCES += proto/otel-gen.stamp
CLEANFILES += proto/otel-gen.stamp
$(OTEL_GEN_C) $(OTEL_GEN_H): proto/otel-gen.stamp
proto/otel-gen.stamp: $(srcdir)/proto/fetch-otel-protos.sh $(srcdir)/scripts/versions.sh \
		$(srcdir)/proto/otel.mk
	$(AM_V_GEN)$(SHELL) $(srcdir)/proto/fetch-otel-protos.sh proto/otel-api && \
	rm -rf proto/otel-gen && $(MKDIR_P) proto/otel-gen && \
	$(PROTOC_C) -Iproto/otel-api --c_out=proto/otel-gen $(OTEL_PROTOS) && \
	touch $@

clean-local: clean-local-otel-proto
clean-local-otel-proto:
	rm -rf proto/otel-gen proto/otel-api
.PHONY: clean-local-otel-proto
