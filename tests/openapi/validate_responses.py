#!/usr/bin/python3
"""Validates recorded HTTP responses against docs/openapi.yaml.

    validate_responses.py OPENAPI.yaml RECORDS.ndjson

RECORDS holds one JSON object a line, {"method", "target", "status",
"contentType", "body"}, as the server test harness writes them when
RELAIS_RECORD_RESPONSES names a file (tests/server/server_harness.cc). Each
response is matched to its operation (path template and method); a target
that matches no path, or a method the path does not take, must be an Error
body. The status must be one the operation lists (or its `default`), the
content type one of that response's, and a JSON body must validate against
its schema (JSON Schema 2020-12, python3-jsonschema). Exits 1 naming every
mismatch, 0 with a count per operation.
"""
import collections
import json
import re
import sys

import jsonschema
import yaml


def resolve(doc, node):
    """`node` with every local $ref replaced by its target (the document's
    schemas hold no cycle)."""
    if isinstance(node, dict):
        if "$ref" in node and len(node) == 1:
            target = doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve(doc, target)
        return {k: resolve(doc, v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(doc, v) for v in node]
    return node


def templates(doc):
    """(regex, template) of every path; {subject} may hold slashes (two
    path segments, or %2F)."""
    out = []
    for path in doc["paths"]:
        pattern = re.escape(path)
        pattern = pattern.replace(re.escape("{subject}"), "(.+)")
        pattern = re.sub(r"\\\{[A-Za-z]+\\\}", "([^/]+)", pattern)
        out.append((re.compile("^" + pattern + "$"), path))
    # The most specific first: a literal path before a template.
    out.sort(key=lambda t: t[1].count("{"))
    return out


def media(content_type):
    return content_type.split(";")[0].strip().lower()


def main():
    spec_path, records_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    doc = resolve(doc, doc)
    error_schema = doc["components"]["schemas"]["Error"]
    paths = templates(doc)
    problems = []
    counts = collections.Counter()
    with open(records_path, encoding="utf-8", errors="surrogateescape") as f:
        records = [json.loads(line) for line in f if line.strip()]
    if not records:
        sys.exit(f"{records_path}: no response recorded")

    def check_json(where, body, schema):
        try:
            value = json.loads(body)
        except ValueError as e:
            problems.append(f"{where}: the body is not JSON ({e}): {body[:200]!r}")
            return
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value),
                        key=lambda e: list(e.absolute_path))
        for e in errors[:3]:
            at = "/".join(str(p) for p in e.absolute_path)
            problems.append(f"{where}: at '{at}': {e.message[:300]}")

    for r in records:
        method, status = r["method"].lower(), str(r["status"])
        path = r["target"].split("?", 1)[0]
        where = f'{r["method"]} {r["target"][:120]} -> {status}'
        template = next((t for rx, t in paths if rx.match(path)), None)
        op = doc["paths"][template].get(method) if template else None
        if op is None:
            # No such route or method: 404, 405, 414, 431... with an Error body.
            counts[f"(no operation) {status}"] += 1
            if media(r["contentType"]) != "application/json":
                problems.append(f"{where}: no operation, and not a JSON error: {r['contentType']}")
            else:
                check_json(where, r["body"], error_schema)
            continue
        counts[f'{r["method"]} {template}'] += 1
        responses = op["responses"]
        response = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
        if response is None:
            problems.append(f"{where}: status {status} is not described")
            continue
        content = response.get("content")
        if not content:
            if r["body"]:
                problems.append(f"{where}: a body where none is described")
            continue
        mt = media(r["contentType"])
        if mt not in content:
            problems.append(f"{where}: content type {r['contentType']} is not one of {sorted(content)}")
            continue
        schema = content[mt].get("schema")
        if mt == "application/json" and schema is not None:
            check_json(where, r["body"], schema)

    for name, n in sorted(counts.items()):
        print(f"{n:5d}  {name}")
    # Coverage, for the reader (a run under `ctest -R` records only a part).
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters" or op.get("x-relais-planned"):
                continue
            if not counts[f"{method.upper()} {path}"]:
                print(f"    0  {method.upper()} {path} (no response recorded)")
    if problems:
        print(f"\n{len(problems)} response(s) do not match {spec_path}:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)
    print(f"{len(records)} responses match {spec_path}")


if __name__ == "__main__":
    main()
