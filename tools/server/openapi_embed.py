#!/usr/bin/env python3
"""Converts docs/openapi.yaml to JSON and writes it as a C++ source file
(the document GET /v1/openapi.json serves): openapi_embed.py IN.yaml OUT.cc.
Fails on a YAML error, so a broken description fails the build."""
import json
import sys

import yaml


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
        sys.exit(f"{src}: not an OpenAPI 3.1 document")
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    delim = "relais_openapi"
    if ")" + delim + '"' in text:
        sys.exit(f"{src}: holds the raw string delimiter")
    with open(out, "w", encoding="utf-8") as f:
        f.write("// Generated from docs/openapi.yaml by tools/server/openapi_embed.py.\n")
        f.write('#include "server/openapi.h"\n\n')
        f.write("namespace relais::server {\n\n")
        f.write("std::string_view OpenApiJson() {\n")
        f.write(f'  static constexpr char kText[] = R"{delim}({text}){delim}";\n')
        f.write("  return {kText, sizeof kText - 1};\n}\n\n")
        f.write("}  // namespace relais::server\n")


if __name__ == "__main__":
    main()
