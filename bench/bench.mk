# bench/bench.mk: Makefile fragment included by the top-level Makefile.am.
# The worker bench/perf.py runs next to the Go and Python references: the
# same activities, built against the public API only.
noinst_PROGRAMS += bench/worker/bootstrap
bench_worker_bootstrap_SOURCES = bench/worker/bootstrap.c
bench_worker_bootstrap_CFLAGS = $(TLW_CFLAGS)
bench_worker_bootstrap_LDADD = $(TLW_USER_LIBS)
