# package/package.mk: Makefile fragment included by the top-level Makefile.am.
# From a build to an AWS Lambda deployment package. tlw-package is installed
# with the library, for users' own programs; `make package` runs it on a
# program of this tree (through libtool, which hands it the real program
# behind the uninstalled wrapper script and the path to libtlw.so):
#
#   make package [TLW_PACKAGE_PROGRAM=...] [TLW_PACKAGE_FILES="temporal.toml lambda_worker.cfg"]
#                [TLW_PACKAGE_ZIP=function.zip] [TLW_PACKAGE_FLAGS="--sysroot DIR"]
#
# Paths are relative to the build directory. The programs and libraries are
# stripped with configure's $(STRIP) (the target's strip in a cross-build).
dist_bin_SCRIPTS = package/tlw-package

TLW_PACKAGE_PROGRAM = examples/greeting/bootstrap
TLW_PACKAGE_FILES =
TLW_PACKAGE_ZIP = function.zip
TLW_PACKAGE_FLAGS =

package: $(TLW_PACKAGE_PROGRAM)
	STRIP='$(STRIP)' $(LIBTOOL) --mode=execute $(srcdir)/package/tlw-package \
		-o $(TLW_PACKAGE_ZIP) $(TLW_PACKAGE_FLAGS) $(TLW_PACKAGE_PROGRAM) $(TLW_PACKAGE_FILES)
.PHONY: package
CLEANFILES += function.zip
