# ipc/ipc.mk: Makefile fragment included by the top-level Makefile.am.
# Supervisor <-> worker child messages over a SOCK_SEQPACKET socketpair.
libtlw_core_la_SOURCES += ipc/ipc.c ipc/ipc.h ipc/spawn.h

EXTRA_DIST += tests/fuzz/corpus/ipc tests/fuzz/corpus/ipc_exec

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_ipc
tests_unit_test_ipc_SOURCES = tests/unit/test_ipc.c
tests_unit_test_ipc_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ipc_LDADD = $(UNIT_LDADD)
endif

if ENABLE_FUZZING
FUZZ_TARGETS += tests/fuzz/fuzz_ipc
tests_fuzz_fuzz_ipc_SOURCES = tests/fuzz/fuzz_ipc.c
tests_fuzz_fuzz_ipc_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_ipc_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_ipc_LDADD = $(TLW_INTERNAL_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_ipc_exec
tests_fuzz_fuzz_ipc_exec_SOURCES = tests/fuzz/fuzz_ipc_exec.c
tests_fuzz_fuzz_ipc_exec_CFLAGS = $(TLW_CFLAGS)
tests_fuzz_fuzz_ipc_exec_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_ipc_exec_LDADD = $(TLW_INTERNAL_LIBS)
endif
