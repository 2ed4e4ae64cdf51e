# conf/conf.mk: Makefile fragment included by the top-level Makefile.am.
# Settings (envconfig, libconfig tuning, defaults, precedence) and the strict
# TOML parser (conf/toml.h) they read temporal.toml with.
libtlw_core_la_SOURCES += \
	conf/settings.c conf/settings.h \
	conf/worker_config.c conf/worker_config.h \
	conf/envconfig.c \
	conf/tuning.c \
	conf/toml.c conf/toml.h

# The decoder that tests/toml/run-toml-test drives with the toml-lang/toml-test
# suite. Built by `make` but not installed, nor run by `make check` (the
# suite is fetched at test time).
noinst_PROGRAMS += tests/toml/toml-decoder
tests_toml_toml_decoder_SOURCES = tests/toml/toml-decoder.c
tests_toml_toml_decoder_CFLAGS = $(TLW_CFLAGS)
tests_toml_toml_decoder_LDADD = $(TLW_INTERNAL_LIBS)

EXTRA_DIST += tests/toml/run-toml-test tests/fuzz/corpus/toml docs/toml.md

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_settings tests/unit/test_toml
tests_unit_test_settings_SOURCES = tests/unit/test_settings.c
tests_unit_test_settings_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_settings_LDADD = $(UNIT_LDADD)
tests_unit_test_toml_SOURCES = tests/unit/test_toml.c
tests_unit_test_toml_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_toml_LDADD = $(UNIT_LDADD)
endif

if ENABLE_FUZZING
FUZZ_TARGETS += tests/fuzz/fuzz_toml
tests_fuzz_fuzz_toml_SOURCES = tests/fuzz/fuzz_toml.c
tests_fuzz_fuzz_toml_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_toml_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_toml_LDADD = $(TLW_INTERNAL_LIBS)
endif
