#!/bin/sh
# Generates ./configure and the Makefile templates. Run once after a checkout.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf --install --force --warnings=all
