# supervisor/supervisor.mk: Makefile fragment included by the top-level Makefile.am.
# The supervisor: tlw_main, the worker children's life cycle, and the Lambda
# Runtime API client (its own small HTTP/1.1 client, jansson; no libcurl).
libtlw_core_la_SOURCES += \
	supervisor/supervisor.c supervisor/supervisor.h \
	supervisor/runtime_api.c supervisor/runtime_api.h \
	supervisor/http.c supervisor/http.h \
	supervisor/telemetry.c supervisor/telemetry.h \
	supervisor/main.c

# A bootstrap whose workers idle or misbehave on request, for
# tests/e2e/test_supervisor.py.
noinst_PROGRAMS += tests/e2e/fixtures/supervisor_bootstrap
tests_e2e_fixtures_supervisor_bootstrap_SOURCES = tests/e2e/fixtures/supervisor_bootstrap.c
tests_e2e_fixtures_supervisor_bootstrap_CFLAGS = $(TLW_CFLAGS)
tests_e2e_fixtures_supervisor_bootstrap_LDADD = $(TLW_USER_LIBS)

# A bootstrap built on the Runtime API client, run under the Lambda emulator by
# tests/e2e/test_runtime_api.py.
noinst_PROGRAMS += tests/e2e/fixtures/runtime_api_probe
tests_e2e_fixtures_runtime_api_probe_SOURCES = tests/e2e/fixtures/runtime_api_probe.c
tests_e2e_fixtures_runtime_api_probe_CFLAGS = $(TLW_CFLAGS)
tests_e2e_fixtures_runtime_api_probe_LDADD = $(TLW_INTERNAL_LIBS)

EXTRA_DIST += tests/fuzz/corpus/runtime_api tests/fuzz/corpus/http_response

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_supervisor tests/unit/test_runtime_api tests/unit/test_http
tests_unit_test_http_SOURCES = tests/unit/test_http.c
tests_unit_test_http_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_http_LDADD = $(UNIT_LDADD)
tests_unit_test_supervisor_SOURCES = tests/unit/test_supervisor.c
tests_unit_test_supervisor_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_supervisor_LDADD = $(UNIT_LDADD)
tests_unit_test_runtime_api_SOURCES = tests/unit/test_runtime_api.c
tests_unit_test_runtime_api_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_runtime_api_LDADD = $(UNIT_LDADD) -lpthread
endif

if ENABLE_FUZZING
FUZZ_TARGETS += tests/fuzz/fuzz_runtime_api
tests_fuzz_fuzz_runtime_api_SOURCES = tests/fuzz/fuzz_runtime_api.c
tests_fuzz_fuzz_runtime_api_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_runtime_api_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_runtime_api_LDADD = $(TLW_INTERNAL_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_http_response
tests_fuzz_fuzz_http_response_SOURCES = tests/fuzz/fuzz_http_response.c
tests_fuzz_fuzz_http_response_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_http_response_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_http_response_LDADD = $(TLW_INTERNAL_LIBS)
endif
