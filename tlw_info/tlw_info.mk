# tlw_info/tlw_info.mk: Makefile fragment included by the top-level Makefile.am.
# tlw-info, a program of its own: checks the settings and the connection
# from the command line, as the worker makes it.
bin_PROGRAMS += tlw-info
tlw_info_SOURCES = tlw_info/tlw_info.c
tlw_info_CFLAGS = $(TLW_CFLAGS)
tlw_info_LDADD = $(TLW_INTERNAL_LIBS)
