# worker/payload.mk: Makefile fragment included by the top-level Makefile.am.
# The default data converter (JSON <-> Temporal Payloads) and application
# Failures, as the other SDKs read and write them.
libtlw_la_SOURCES += worker/payload.c worker/payload.h

# Reads and writes serialized Payloads and Failures for
# tests/e2e/test_payload_interop.py, which checks them against the Python SDK.
noinst_PROGRAMS += tests/e2e/fixtures/payload_probe
tests_e2e_fixtures_payload_probe_SOURCES = tests/e2e/fixtures/payload_probe.c
tests_e2e_fixtures_payload_probe_CFLAGS = $(TLW_CFLAGS)
tests_e2e_fixtures_payload_probe_LDADD = libtlw.la $(DEPS_LIBS)

EXTRA_DIST += tests/e2e/test_payload_interop.py tests/fuzz/fuzz_payload.c \
	tests/fuzz/corpus/payload

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_payload
tests_unit_test_payload_SOURCES = tests/unit/test_payload.c
tests_unit_test_payload_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_payload_LDADD = $(UNIT_LDADD)
endif
