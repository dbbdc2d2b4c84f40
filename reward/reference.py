"""Reference calls -> a BFCL possible answer (what data preparation builds ground truths from)."""

from __future__ import annotations

import json

from .ground_truth import GroundTruthError


def possible_answer_from_calls(calls: list, functions: list) -> list:
    """Turn reference calls ``[{name: {param: value}}]`` into a BFCL possible answer.

    Each given value becomes the only acceptable value (tuples become lists, as JSON would make them);
    a parameter the schema makes optional and the call omits becomes ``[""]`` (may be omitted).
    """
    docs = {}
    for i, doc in enumerate(functions):
        if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
            raise GroundTruthError(f"functions[{i}].name: missing or not a string")
        docs.setdefault(doc["name"], doc)
    out = []
    for i, call in enumerate(calls):
        if not isinstance(call, dict) or len(call) != 1:
            raise GroundTruthError(f"calls[{i}]: must be {{function_name: {{param: value}}}}")
        ((name, args),) = call.items()
        if name not in docs:
            raise GroundTruthError(f"calls[{i}]: function {name!r:.100} is not among functions")
        if not isinstance(args, dict):
            raise GroundTruthError(f"calls[{i}].{name}: arguments must be a dict")
        parameters = docs[name].get("parameters", {})
        required = set(parameters.get("required", []))
        answer = {p: [json.loads(json.dumps(v))] for p, v in args.items()}
        for p in parameters.get("properties", {}):
            if p not in args and p not in required:
                answer[p] = [""]
        out.append({name: answer})
    return out
