# conf/toml.mk: Makefile fragment included by the top-level Makefile.am.
# The strict TOML parser (conf/toml.h), its unit tests, and the decoder that
# tests/toml/run-toml-test drives with the toml-lang/toml-test suite.
libtlw_la_SOURCES += conf/toml.c conf/toml.h

# Built by `make` but not installed, nor run by `make check` (the toml-test
# suite is fetched at test time: tests/toml/run-toml-test). Makefile.am does
# not define noinst_PROGRAMS, and automake refuses += on an undefined
# variable, so this first fragment sets it; later fragments may use +=.
noinst_PROGRAMS = tests/toml/toml-decoder
tests_toml_toml_decoder_SOURCES = tests/toml/toml-decoder.c
tests_toml_toml_decoder_CFLAGS = $(TLW_CFLAGS)
tests_toml_toml_decoder_LDADD = libtlw.la $(DEPS_LIBS)

EXTRA_DIST += tests/toml/run-toml-test tests/fuzz/fuzz_toml.c tests/fuzz/corpus/toml \
	docs/toml.md

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_toml
tests_unit_test_toml_SOURCES = tests/unit/test_toml.c
tests_unit_test_toml_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_toml_LDADD = $(UNIT_LDADD)
endif
