# worker/worker.mk: Makefile fragment included by the top-level Makefile.am.
# A worker child: the gRPC client layer and the WorkflowService calls, the
# slots and their poll loops, the data converter, and tlw-info.
libtlw_core_la_SOURCES += \
	worker/rpc.h worker/plugins.h \
	worker/service.c worker/service.h \
	worker/slot.c worker/slot.h \
	worker/connect.c worker/connect.h \
	worker/poller.c worker/poller.h \
	worker/activity.c worker/activity.h \
	worker/activity_api.c worker/activity_context.h \
	worker/executor.c worker/executor.h \
	worker/zygote.c worker/zygote.h \
	worker/heartbeat.c worker/heartbeat.h \
	worker/coro.c worker/coro.h \
	worker/engine.c worker/engine.h \
	worker/workflow_run.h worker/workflow_api.c \
	worker/workflow.c worker/workflow.h \
	worker/recovery.c worker/recovery.h \
	worker/replay.c worker/replay.h \
	worker/payload.c worker/payload.h \
	worker/pbjson.c worker/pbjson.h \
	worker/extstore.c worker/extstore.h \
	worker/s3.h \
	worker/storage.c worker/storage.h \
	worker/otel_slot.c worker/otel_slot.h \
	worker/otel_export.c worker/otel_export.h

# The activities the end-to-end tests call (tests/e2e/test_activities.py).
noinst_PROGRAMS += tests/e2e/fixtures/activity_bootstrap
tests_e2e_fixtures_activity_bootstrap_SOURCES = tests/e2e/fixtures/activity_bootstrap.c
tests_e2e_fixtures_activity_bootstrap_CFLAGS = $(TLW_CFLAGS)
tests_e2e_fixtures_activity_bootstrap_LDADD = $(TLW_USER_LIBS)

# The activities tests/e2e/test_s3.py calls, their payloads through S3.
noinst_PROGRAMS += tests/e2e/fixtures/s3_bootstrap
tests_e2e_fixtures_s3_bootstrap_SOURCES = tests/e2e/fixtures/s3_bootstrap.c
tests_e2e_fixtures_s3_bootstrap_CFLAGS = $(TLW_CFLAGS)
tests_e2e_fixtures_s3_bootstrap_LDADD = $(TLW_USER_LIBS)
# Times worker/storage's store and fetch for bench/s3.py.
noinst_PROGRAMS += tests/e2e/fixtures/s3_probe
tests_e2e_fixtures_s3_probe_SOURCES = tests/e2e/fixtures/s3_probe.c
tests_e2e_fixtures_s3_probe_CFLAGS = $(TLW_CFLAGS)
tests_e2e_fixtures_s3_probe_LDADD = $(TLW_INTERNAL_LIBS)

# Reads and writes serialized Payloads and Failures for
# tests/e2e/test_payload_interop.py, which checks them against the Python SDK.
noinst_PROGRAMS += tests/e2e/fixtures/payload_probe
tests_e2e_fixtures_payload_probe_SOURCES = tests/e2e/fixtures/payload_probe.c
tests_e2e_fixtures_payload_probe_CFLAGS = $(TLW_CFLAGS)
tests_e2e_fixtures_payload_probe_LDADD = $(TLW_INTERNAL_LIBS)

EXTRA_DIST += tests/fuzz/corpus/payload tests/fuzz/corpus/pbjson tests/fuzz/corpus/exec_job \
	tests/fuzz/corpus/extstore

# worker/pbjson's tests decode into messages of their own as well as the
# Temporal API's: every field shape the API lacks (tests/unit/pbjson_test.proto)
# and proto2 optional fields (pbjson_test2.proto). protoc-c compiles them
# at `make check` time into a library of their own, built like libtlwproto
# (generated code, without the project's warning flags).
PBJSON_TEST_PROTOS = tests/unit/pbjson_test.proto tests/unit/pbjson_test2.proto
PBJSON_TEST_GEN = tests/unit/pbjson_test.pb-c.c tests/unit/pbjson_test.pb-c.h \
	tests/unit/pbjson_test2.pb-c.c tests/unit/pbjson_test2.pb-c.h
EXTRA_DIST += $(PBJSON_TEST_PROTOS) tests/unit/fixtures/history_python.json \
	tests/unit/fixtures/history_c_greeting.json

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_engine
tests_unit_test_engine_SOURCES = tests/unit/test_engine.c
tests_unit_test_engine_CFLAGS = $(UNIT_CFLAGS) \
	-DTLW_ENGINE_FIXTURES='"$(abs_top_srcdir)/tests/unit/fixtures"'
tests_unit_test_engine_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_coro
tests_unit_test_coro_SOURCES = tests/unit/test_coro.c
tests_unit_test_coro_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_coro_LDADD = $(UNIT_LDADD) -lpthread
check_PROGRAMS += tests/unit/test_rpc tests/unit/test_payload tests/unit/test_executor
tests_unit_test_executor_SOURCES = tests/unit/test_executor.c
tests_unit_test_executor_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_executor_LDADD = $(UNIT_LDADD)
tests_unit_test_rpc_SOURCES = tests/unit/test_rpc.c
tests_unit_test_rpc_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_rpc_LDADD = $(UNIT_LDADD) -lpthread
tests_unit_test_payload_SOURCES = tests/unit/test_payload.c
tests_unit_test_payload_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_payload_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_extstore
tests_unit_test_extstore_SOURCES = tests/unit/test_extstore.c
tests_unit_test_extstore_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_extstore_LDADD = $(UNIT_LDADD)

check_LTLIBRARIES += tests/unit/libpbjson_test.la
nodist_tests_unit_libpbjson_test_la_SOURCES = $(PBJSON_TEST_GEN)
tests_unit_libpbjson_test_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
$(PBJSON_TEST_GEN): tests/unit/pbjson_test.stamp
tests/unit/pbjson_test.stamp: $(srcdir)/tests/unit/pbjson_test.proto \
		$(srcdir)/tests/unit/pbjson_test2.proto proto/gen.stamp
	$(AM_V_GEN)$(MKDIR_P) tests/unit && \
	$(PROTOC_C) -I$(srcdir)/tests/unit -I$(PROTOBUF_INCLUDEDIR) --c_out=tests/unit \
		pbjson_test.proto pbjson_test2.proto && \
	touch $@
CLEANFILES += tests/unit/pbjson_test.stamp $(PBJSON_TEST_GEN)

check_PROGRAMS += tests/unit/test_pbjson
tests_unit_test_pbjson_SOURCES = tests/unit/test_pbjson.c
tests_unit_test_pbjson_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/tests/unit \
	-DTLW_PBJSON_FIXTURES='"$(abs_top_srcdir)/tests/unit/fixtures"'
tests_unit_test_pbjson_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pbjson_LDADD = tests/unit/libpbjson_test.la $(UNIT_LDADD)
# test_pbjson.c includes the generated headers: they exist before it compiles.
tests/unit/test_pbjson-test_pbjson.$(OBJEXT): tests/unit/pbjson_test.stamp
endif

if ENABLE_FUZZING
FUZZ_TARGETS += tests/fuzz/fuzz_exec_job
tests_fuzz_fuzz_exec_job_SOURCES = tests/fuzz/fuzz_exec_job.c
tests_fuzz_fuzz_exec_job_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_exec_job_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_exec_job_LDADD = $(TLW_INTERNAL_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_payload
tests_fuzz_fuzz_payload_SOURCES = tests/fuzz/fuzz_payload.c
tests_fuzz_fuzz_payload_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_payload_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_payload_LDADD = $(TLW_INTERNAL_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_pbjson
tests_fuzz_fuzz_pbjson_SOURCES = tests/fuzz/fuzz_pbjson.c
tests_fuzz_fuzz_pbjson_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_pbjson_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_pbjson_LDADD = $(TLW_INTERNAL_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_extstore
tests_fuzz_fuzz_extstore_SOURCES = tests/fuzz/fuzz_extstore.c
tests_fuzz_fuzz_extstore_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_extstore_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_extstore_LDADD = $(TLW_INTERNAL_LIBS)
endif

# The workflows the end-to-end tests run (tests/e2e/test_workflows.py).
noinst_PROGRAMS += tests/e2e/fixtures/workflow_bootstrap
tests_e2e_fixtures_workflow_bootstrap_SOURCES = tests/e2e/fixtures/workflow_bootstrap.c
tests_e2e_fixtures_workflow_bootstrap_CFLAGS = $(TLW_CFLAGS)
tests_e2e_fixtures_workflow_bootstrap_LDADD = $(TLW_USER_LIBS)

# OpenTelemetry: the metric registry and the OTLP request built from it.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_otel
tests_unit_test_otel_SOURCES = tests/unit/test_otel.c
tests_unit_test_otel_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_otel_LDADD = $(UNIT_LDADD)
endif
