# examples/examples.mk: Makefile fragment included by the top-level Makefile.am.
# Workers users copy. They use the public API only, so they link libtlw.la as
# a user's program does; `make installcheck` builds the greeting example
# again from the installed files (tests/install/check-pkg-config).
noinst_PROGRAMS += examples/greeting/bootstrap
examples_greeting_bootstrap_SOURCES = examples/greeting/bootstrap.c
examples_greeting_bootstrap_CFLAGS = $(TLW_CFLAGS)
examples_greeting_bootstrap_LDADD = $(TLW_USER_LIBS)

# Large payloads through S3, the invocation hooks opening and closing an S3
# connection (README "Large payloads in S3").
noinst_PROGRAMS += examples/large_payloads/bootstrap
examples_large_payloads_bootstrap_SOURCES = examples/large_payloads/bootstrap.c
examples_large_payloads_bootstrap_CFLAGS = $(TLW_CFLAGS)
examples_large_payloads_bootstrap_LDADD = $(TLW_USER_LIBS) $(LIBCURL_LIBS)
