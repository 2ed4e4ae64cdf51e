# conf/conf.mk: settings (envconfig, libconfig tuning, defaults, precedence).
libtlw_la_SOURCES += \
	conf/settings.c conf/settings.h \
	conf/config.c conf/config.h \
	conf/envconfig.c \
	conf/tuning.c

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_settings
tests_unit_test_settings_SOURCES = tests/unit/test_settings.c
tests_unit_test_settings_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_settings_LDADD = $(UNIT_LDADD)
endif
