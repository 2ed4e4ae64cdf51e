# supervisor/supervisor.mk: Makefile fragment included by the top-level Makefile.am.
# The Lambda Runtime API client (libcurl, jansson).
libtlw_la_SOURCES += supervisor/runtime_api.c supervisor/runtime_api.h

# A bootstrap built on the client, run under the Lambda emulator by
# tests/e2e/test_runtime_api.py.
noinst_PROGRAMS += tests/e2e/fixtures/runtime_api_probe
tests_e2e_fixtures_runtime_api_probe_SOURCES = tests/e2e/fixtures/runtime_api_probe.c
tests_e2e_fixtures_runtime_api_probe_CFLAGS = $(TLW_CFLAGS)
tests_e2e_fixtures_runtime_api_probe_LDADD = libtlw.la $(DEPS_LIBS)

EXTRA_DIST += tests/e2e/test_runtime_api.py tests/fuzz/fuzz_runtime_api.c \
	tests/fuzz/corpus/runtime_api

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_runtime_api
tests_unit_test_runtime_api_SOURCES = tests/unit/test_runtime_api.c
tests_unit_test_runtime_api_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_runtime_api_LDADD = $(UNIT_LDADD) -lpthread
endif
