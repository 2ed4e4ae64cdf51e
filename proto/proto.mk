# proto/proto.mk: Makefile fragment included by the top-level Makefile.am.
# The Temporal API, compiled by protoc-c at build time into libtlwproto, a
# convenience library that goes into libtlw-internal.la. The list of protos
# is generated: proto/protos.mk (proto/closure.py).
include $(top_srcdir)/proto/protos.mk

noinst_LTLIBRARIES += libtlwproto.la
nodist_libtlwproto_la_SOURCES = $(PROTO_GEN_C) $(PROTO_GEN_H)
libtlwproto_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
libtlwproto_la_LIBADD = $(PROTOBUF_C_LIBS)

# The OpenTelemetry protocol (OTLP), for the exporter.
include $(top_srcdir)/proto/otel.mk

EXTRA_DIST += proto/fetch-protos.sh proto/closure.py

BUILT_SOURCES += proto/gen.stamp
CLEANFILES += proto/gen.stamp
$(PROTO_GEN_C) $(PROTO_GEN_H): proto/gen.stamp
proto/gen.stamp: $(srcdir)/proto/fetch-protos.sh $(srcdir)/scripts/versions.sh \
		$(srcdir)/proto/protos.mk
	$(AM_V_GEN)$(SHELL) $(srcdir)/proto/fetch-protos.sh proto/api "$(TEMPORAL_API_DIR)" && \
	rm -rf proto/gen && $(MKDIR_P) proto/gen && \
	$(PROTOC_C) -Iproto/api -I$(PROTOBUF_INCLUDEDIR) --c_out=proto/gen \
		$(TEMPORAL_PROTOS) $(WKT_PROTOS) && \
	touch $@

clean-local: clean-local-proto
clean-local-proto:
	rm -rf proto/gen proto/api
.PHONY: clean-local-proto
