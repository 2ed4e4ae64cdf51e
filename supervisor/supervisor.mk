# supervisor/supervisor.mk: Makefile fragment included by the top-level Makefile.am.
