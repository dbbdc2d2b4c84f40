"""Tool schemas from the source formats -> BFCL function docs (the form ``funrl.reward`` checks against).

xLAM-60k writes parameter types as Python-ish strings ("str", "List[int]", "float, optional"), with
no ``required`` list: a parameter is optional when its type says "optional" or it has a default.
OpenAI/Hermes tools are JSON Schema ("number", "object", ...). Both map onto BFCL's types.
A type that cannot be mapped raises :class:`SchemaError` naming the tool and parameter.
"""

from __future__ import annotations

import re

from funrl.reward import PYTHON_TYPES

BFCL_TYPES = tuple(PYTHON_TYPES)  # funrl.reward's: BFCL's types plus JSON Schema's number and object


class SchemaError(ValueError):
    """A tool schema that cannot be turned into a BFCL function doc; the message names the field."""


_PY_TYPES = {
    "str": "string",
    "string": "string",
    "int": "integer",
    "integer": "integer",
    "float": "float",
    "number": "float",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "array": "array",
    "set": "array",
    "sequence": "array",
    "tuple": "tuple",
    "dict": "dict",
    "object": "dict",
    "mapping": "dict",
    "any": "any",
    "callable": "any",
}

_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "float",
    "float": "float",
    "boolean": "boolean",
    "array": "array",
    "object": "dict",
    "dict": "dict",
    "tuple": "tuple",
    "any": "any",
    "null": "any",
}


def python_type_to_bfcl(type_str: str) -> tuple[str, bool, str | None]:
    """'List[int], optional' -> ('array', optional=True, item type 'integer')."""
    text = type_str.strip()
    optional = False
    if re.search(r",\s*optional\s*$", text, flags=re.I):
        text, optional = re.sub(r",\s*optional\s*$", "", text, flags=re.I).strip(), True
    m = re.fullmatch(r"(?i)optional\[(.*)\]", text)
    if m:
        text, optional = m.group(1).strip(), True
    m = re.fullmatch(r"(?i)union\[(.*),\s*none\]", text)
    if m:
        text, optional = m.group(1).strip(), True
    m = re.fullmatch(r"(\w+)\s*\[(.*)\]", text)
    outer, inner = (m.group(1), m.group(2)) if m else (text, None)
    bfcl = _PY_TYPES.get(outer.lower())
    if bfcl is None:
        raise SchemaError(f"unsupported type {type_str!r}")
    item = None
    if bfcl == "array" and inner:
        item = _PY_TYPES.get(re.split(r"[\[,]", inner)[0].strip().lower())
    return bfcl, optional, item


def xlam_tool_to_bfcl(tool: dict) -> dict:
    """One xLAM tool ``{"name", "description", "parameters": {p: {"type", "description", "default"?}}}``."""
    if not isinstance(tool, dict):
        raise SchemaError(f"a tool is a {type(tool).__name__}, not a mapping")
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise SchemaError("tool.name is missing or not a string")
    params = tool.get("parameters") or {}
    if not isinstance(params, dict):
        raise SchemaError(f"tool {name!r}: parameters is not a mapping")
    properties: dict[str, dict] = {}
    required: list[str] = []
    for pname, spec in params.items():
        if not isinstance(spec, dict) or "type" not in spec:
            raise SchemaError(f"tool {name!r}: parameter {pname!r} has no type")
        try:
            bfcl, optional, item = python_type_to_bfcl(str(spec["type"]))
        except SchemaError as e:
            raise SchemaError(f"tool {name!r}: parameter {pname!r}: {e}") from None
        prop: dict = {"type": bfcl, "description": str(spec.get("description", ""))}
        if item:
            prop["items"] = {"type": item}
        if "default" in spec:
            prop["default"] = spec["default"]
            optional = True
        properties[pname] = prop
        if not optional:
            required.append(pname)
    return {
        "name": name,
        "description": str(tool.get("description", "")),
        "parameters": {"type": "dict", "properties": properties, "required": required},
    }


def _json_schema_prop(schema: dict, where: str) -> dict:
    if not isinstance(schema, dict):
        raise SchemaError(f"{where}: not a mapping")
    raw = schema.get("type", "any")
    if isinstance(raw, list):  # ["string", "null"]
        non_null = [t for t in raw if t != "null"]
        raw = non_null[0] if len(non_null) == 1 else "any"
    if "anyOf" in schema or "oneOf" in schema:
        raw = schema.get("type", "any")
    bfcl = _JSON_TYPES.get(str(raw).lower())
    if bfcl is None:
        raise SchemaError(f"{where}: unsupported type {raw!r}")
    prop: dict = {"type": bfcl}
    for key in ("description", "enum", "default"):
        if key in schema:
            prop[key] = schema[key]
    if bfcl == "array" and isinstance(schema.get("items"), dict):
        prop["items"] = _json_schema_prop(schema["items"], f"{where}.items")
    if bfcl == "dict" and isinstance(schema.get("properties"), dict):
        prop["properties"] = {
            k: _json_schema_prop(v, f"{where}.properties.{k}") for k, v in schema["properties"].items()
        }
        if "required" in schema:
            prop["required"] = list(schema["required"])
    return prop


def openai_tool_to_bfcl(tool: dict) -> dict:
    """``{"type": "function", "function": {...JSON Schema...}}`` (or the bare function) -> BFCL doc."""
    fn = tool.get("function", tool) if isinstance(tool, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise SchemaError("tool.function.name is missing or not a string")
    name = fn["name"]
    params = fn.get("parameters") or {"type": "object", "properties": {}}
    if not isinstance(params, dict):
        raise SchemaError(f"tool {name!r}: parameters is not a mapping")
    props = params.get("properties") or {}
    if not isinstance(props, dict):
        raise SchemaError(f"tool {name!r}: parameters.properties is not a mapping")
    required = params.get("required") or []
    if not isinstance(required, list) or any(not isinstance(r, str) or r not in props for r in required):
        raise SchemaError(f"tool {name!r}: parameters.required is not a list of its parameter names")
    return {
        "name": name,
        "description": str(fn.get("description", "")),
        "parameters": {
            "type": "dict",
            "properties": {
                k: _json_schema_prop(v, f"tool {name!r}: parameter {k!r}") for k, v in props.items()
            },
            "required": list(required),
        },
    }


def check_bfcl_doc(doc: dict) -> dict:
    """Validates a BFCL function doc (as given by BFCL entries); returns it unchanged."""
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise SchemaError("function.name is missing or not a string")
    params = doc.get("parameters")
    if not isinstance(params, dict) or not isinstance(params.get("properties", {}), dict):
        raise SchemaError(f"function {doc['name']!r}: parameters.properties is not a mapping")
    for pname, prop in params.get("properties", {}).items():
        if not isinstance(prop, dict) or prop.get("type") not in BFCL_TYPES:
            got = prop.get("type") if isinstance(prop, dict) else prop
            raise SchemaError(f"function {doc['name']!r}: parameter {pname!r} has unsupported type {got!r}")
    required = params.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise SchemaError(f"function {doc['name']!r}: parameters.required is not a list of names")
    for req in required:
        if req not in params.get("properties", {}):
            raise SchemaError(f"function {doc['name']!r}: required parameter {req!r} is not in properties")
    return doc


def category_for(calls: list[dict], tools: list[dict]) -> str:
    """BFCL category implied by the number of calls and of tools offered."""
    parallel = len(calls) > 1
    multiple = len(tools) > 1
    if parallel and multiple:
        return "parallel_multiple"
    if parallel:
        return "parallel"
    if multiple:
        return "multiple"
    return "simple"


def _type_ok(value: object, prop: dict) -> bool:
    kind = prop.get("type", "any")
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("array", "tuple"):
        if not isinstance(value, (list, tuple)):
            return False
        items = prop.get("items")
        return not isinstance(items, dict) or all(_type_ok(v, items) for v in value)
    if kind == "dict":
        return isinstance(value, dict)
    return True


def schema_violation(calls: list[dict], tools: list[dict]) -> tuple[str, str] | None:
    """First way the calls break their schemas, as (error type, detail); None when they all conform.

    Checks: the function exists, every argument is a declared parameter of the declared type (array
    items too, when typed) and within its ``enum``, and every required parameter is given.
    """
    docs = {t["name"]: t for t in tools}
    for call in calls:
        ((name, args),) = call.items()
        doc = docs.get(name)
        if doc is None:
            return "schema_error:unknown_function", name
        params = doc["parameters"]
        props = params.get("properties", {})
        for pname, value in args.items():
            prop = props.get(pname)
            if prop is None:
                return "schema_error:unknown_param", f"{name}.{pname}"
            if not _type_ok(value, prop):
                return "schema_error:type", f"{name}.{pname}: {value!r} is not of type {prop.get('type')}"
            if "enum" in prop and value not in prop["enum"]:
                return "schema_error:enum", f"{name}.{pname}: {value!r} is not one of {prop['enum']}"
        missing = [p for p in params.get("required", []) if p not in args]
        if missing:
            return "schema_error:missing_required", f"{name}: {missing}"
    return None
