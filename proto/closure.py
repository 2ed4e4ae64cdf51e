#!/usr/bin/env python3
"""Prints proto/protos.mk: the import closure of the workflowservice messages.

usage: proto/closure.py API_DIR [PROTOBUF_INCLUDEDIR] > proto/protos.mk

API_DIR holds temporal/api/... (a staged copy, e.g. build/proto/api). Imports
of google/protobuf/... resolve in PROTOBUF_INCLUDEDIR (default /usr/include).
Run it when scripts/versions.sh moves to a new API version.
"""
import os
import re
import sys

ROOT = "temporal/api/workflowservice/v1/request_response.proto"
IMPORT = re.compile(r'^import\s+(?:public\s+|weak\s+)?"([^"]+)"', re.M)


def closure(api_dir, wkt_dir):
    seen, order = set(), []

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        base = wkt_dir if name.startswith("google/protobuf/") else api_dir
        with open(os.path.join(base, name), encoding="utf-8") as f:
            text = f.read()
        for dep in IMPORT.findall(text):
            visit(dep)
        order.append(name)

    visit(ROOT)
    return order


def emit(name, items):
    print(name + " = \\")
    print(" \\\n".join("\t" + i for i in items))
    print()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    files = closure(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "/usr/include")
    temporal = sorted(f for f in files if f.startswith("temporal/"))
    wkt = sorted(f for f in files if f.startswith("google/"))
    every = temporal + wkt
    print("# The Temporal API protos compiled into libtlwproto: the import closure of")
    print("# " + ROOT + ". The protos themselves")
    print("# are fetched at build time (proto/fetch-protos.sh), never committed.")
    print("# Regenerate this list with proto/closure.py when the pinned API version moves.")
    print()
    emit("TEMPORAL_PROTOS", temporal)
    emit("WKT_PROTOS", wkt)
    emit("PROTO_GEN_C", ["proto/gen/" + f[:-len(".proto")] + ".pb-c.c" for f in every])
    emit("PROTO_GEN_H", ["proto/gen/" + f[:-len(".proto")] + ".pb-c.h" for f in every])


if __name__ == "__main__":
    main()
