# common/common.mk: Makefile fragment included by the top-level Makefile.am.
# What every module shares: the error convention, clocks, reading files,
# process hygiene, logging, the gRPC metadata rules.
libtlw_core_la_SOURCES += \
	common/buffer.c common/buffer.h \
	common/clock.c common/clock.h \
	common/error.c common/error.h \
	common/file.c common/file.h \
	common/proc.c common/proc.h \
	common/log.c common/log.h \
	common/metadata.c common/metadata.h \
	common/metrics.c common/metrics.h \
	common/spans.c common/spans.h \
	common/utf8.c common/utf8.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_error
tests_unit_test_error_SOURCES = tests/unit/test_error.c
tests_unit_test_error_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_error_LDADD = $(UNIT_LDADD)
endif

# OpenTelemetry: the metrics' and spans' compact forms, as the supervisor decodes
# them, and the trace-context parsers.
EXTRA_DIST += tests/fuzz/corpus/metrics
FUZZ_TARGETS += tests/fuzz/fuzz_metrics
tests_fuzz_fuzz_metrics_SOURCES = tests/fuzz/fuzz_metrics.c
tests_fuzz_fuzz_metrics_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_metrics_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_metrics_LDADD = $(TLW_INTERNAL_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_spans
EXTRA_DIST += tests/fuzz/corpus/spans
tests_fuzz_fuzz_spans_SOURCES = tests/fuzz/fuzz_spans.c
tests_fuzz_fuzz_spans_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_spans_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_spans_LDADD = $(TLW_INTERNAL_LIBS)
