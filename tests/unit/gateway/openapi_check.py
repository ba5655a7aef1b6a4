"""A small structural check of an OpenAPI 3.0 document (openapi-spec-validator
is not a dependency): required top-level fields, operations with responses,
path parameters declared, and every $ref resolving."""
from __future__ import annotations

import re

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def werkzeug_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule)


def _refs(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.append(value)
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found)
    return found


def _resolve(document, ref):
    if not ref.startswith("#/"):
        return None
    node = document
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_openapi_document(document: dict) -> list[str]:
    problems = []
    if not re.match(r"^3\.\d+\.\d+$", str(document.get("openapi", ""))):
        problems.append("openapi must be a 3.x.y version string")
    info = document.get("info") or {}
    if not info.get("title") or not info.get("version"):
        problems.append("info.title and info.version are required")
    paths = document.get("paths")
    if not isinstance(paths, dict) or not paths:
        problems.append("paths must be a non-empty object")
        paths = {}
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    operation_ids = set()
    for path, item in paths.items():
        if not path.startswith("/"):
            problems.append(f"{path}: must start with /")
        templated = set(re.findall(r"\{(\w+)\}", path))
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            responses = operation.get("responses")
            if not isinstance(responses, dict) or not responses:
                problems.append(f"{where}: responses required")
                responses = {}
            for status, response in responses.items():
                if not re.match(r"^([1-5]\d\d|[1-5]XX|default)$", str(status)):
                    problems.append(f"{where}: bad status {status}")
                if "$ref" not in response and not response.get("description"):
                    problems.append(f"{where}: response {status} needs a description")
            declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("required") is not True:
                    problems.append(f"{where}: path parameter {parameter.get('name')} must be required")
                if parameter.get("in") not in {"path", "query", "header", "cookie"}:
                    problems.append(f"{where}: bad parameter location")
            if declared != templated:
                problems.append(f"{where}: path parameters {sorted(templated)} declared as {sorted(declared)}")
            op_id = operation.get("operationId")
            if op_id in operation_ids:
                problems.append(f"{where}: duplicate operationId {op_id}")
            operation_ids.add(op_id)
            for requirement in operation.get("security", []):
                for name in requirement:
                    if name not in schemes:
                        problems.append(f"{where}: unknown security scheme {name}")
    for ref in _refs(document, []):
        if _resolve(document, ref) is None:
            problems.append(f"unresolved $ref {ref}")
    return problems
