# tests/tests.mk: Makefile fragment included by the top-level Makefile.am.
# Each module's fragment builds its own unit tests, fuzz targets and e2e
# fixtures; this one holds the checks of the whole library, the `fuzz`
# target, and the scripts that run the other suites.

# libtlw.so exports the public header's functions and nothing else. The test
# reads its arguments from the environment (a test in TESTS takes none).
TESTS += tests/abi/check-exports
AM_TESTS_ENVIRONMENT = NM='$(NM)' CPP='$(CPP)' TLW_LIBTLW_LA=libtlw.la \
	TLW_PUBLIC_HEADER='$(TLW_PUBLIC_HEADER)' TLW_PUBLIC_CPPFLAGS='$(JANSSON_CFLAGS)'; \
	export NM CPP TLW_LIBTLW_LA TLW_PUBLIC_HEADER TLW_PUBLIC_CPPFLAGS;

# Fuzz targets (libFuzzer): configure --enable-fuzzing (with CC=clang), then
# `make fuzz` builds every target each module's fragment adds to
# FUZZ_TARGETS; tests/fuzz/run does that in its own build tree and runs them.
FUZZ_LINK_FLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
if ENABLE_FUZZING
noinst_PROGRAMS += $(FUZZ_TARGETS)
# The generated headers first, as `make all` has them (BUILT_SOURCES).
fuzz: $(BUILT_SOURCES)
	$(MAKE) $(AM_MAKEFLAGS) $(FUZZ_TARGETS)
else
fuzz:
	@echo "make fuzz: configure with --enable-fuzzing (and CC=clang) to build the fuzz targets" >&2; exit 1
endif
.PHONY: fuzz

EXTRA_DIST += tests/abi/check-exports tests/fuzz/run tests/install/check-pkg-config

# `make installcheck` (run by `make distcheck` on its temporary prefix) builds
# the greeting example from the installed files with pkg-config alone and
# runs it. distcheck configures without --enable-sanitizers, so its libtlw
# has none; from a sanitizer build the example is linked with the same
# $(SANITIZER_FLAGS), as any program linking an ASan-built library must be.
installcheck-local:
	CC='$(CC)' PKG_CONFIG='$(PKG_CONFIG)' $(SHELL) $(srcdir)/tests/install/check-pkg-config \
		--destdir='$(DESTDIR)' --libdir='$(libdir)' --includedir='$(includedir)' \
		--pkgconfigdir='$(pkgconfigdir)' --sanitizer-flags='$(SANITIZER_FLAGS)' \
		$(srcdir)/examples/greeting/bootstrap.c
