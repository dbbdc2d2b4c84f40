"""Golden verdicts for Java and JavaScript from BFCL's own data and BFCL's official checker.

Run it with bfcl-eval 2026.3.23 and its own requirements (tree-sitter 0.21, tree-sitter-java,
tree-sitter-javascript; see tests/data/bfcl/make_golden.py for the venv):

    BFCL_PROJECT_ROOT=/tmp/bfclroot /tmp/bfclvenv/bin/python tests/data/bfcl_java_js/make_golden.py

It writes, next to itself:
  entries.jsonl.gz   simple_java / simple_javascript entries: id, category, language, function,
                     ground_truth
  verdicts.jsonl.gz  candidates: id, kind (which mutation), rendering (python|json), text, and the
                     official verdict: valid (true/false, or null where BFCL raised) and error_type

Official verdicts: call text goes through ``default_decode_ast_prompting(text, ReturnFormat.JAVA or
JAVASCRIPT)`` (tree-sitter), JSON through the FC handlers' route (``json.loads`` of the arguments); then
``is_function_calling_format_output`` and ``ast_checker(..., Language.JAVA or JAVASCRIPT, ...)`` --
the steps of BFCL's ``_evaluate_single_ast_entry`` as ``ast_file_runner`` picks them for these
categories. Candidates: each ground truth rendered as Java/JS source, value and call mutations of it,
syntax snippets in place of an argument and random one-character edits (material in
golden_candidates.py), drawn with a fixed seed: the files are byte-reproducible. Not part of the test
run nor of the funrl package.
"""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import random
import sys

os.environ.setdefault("BFCL_PROJECT_ROOT", "/tmp/bfclroot")
pathlib.Path(os.environ["BFCL_PROJECT_ROOT"]).mkdir(parents=True, exist_ok=True)

import bfcl_eval  # noqa: E402
from bfcl_eval.constants.enums import Language, ReturnFormat  # noqa: E402
from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING  # noqa: E402
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker  # noqa: E402
from bfcl_eval.model_handler.utils import default_decode_ast_prompting  # noqa: E402
from bfcl_eval.utils import is_function_calling_format_output  # noqa: E402

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE))
from golden_candidates import NOISE_CHARS, NOISE_PER_ENTRY, SNIPPETS, VALUE_MUTATIONS  # noqa: E402

DATA = pathlib.Path(bfcl_eval.__file__).parent / "data"
MODEL = next(k for k, v in MODEL_CONFIG_MAPPING.items() if not v.underscore_to_dot).replace("/", "_")
SEED = 20261129
LANG = {
    "java": (Language.JAVA, ReturnFormat.JAVA),
    "javascript": (Language.JAVASCRIPT, ReturnFormat.JAVASCRIPT),
}


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def official(text: str, rendering: str, entry: dict) -> tuple:
    language, fmt = LANG[entry["language"]]
    try:
        if rendering == "python":
            decoded = default_decode_ast_prompting(text, fmt)
        else:
            decoded = [{c["name"]: json.loads(c["arguments"])} for c in json.loads(text)]
    except Exception:  # noqa: BLE001 -- BFCL: any decode exception is a decoder failure
        return False, "ast_decoder:decoder_failed"
    if not is_function_calling_format_output(decoded):
        return False, "ast_decoder:decoder_wrong_output_format"
    try:
        r = ast_checker(entry["function"], decoded, entry["ground_truth"], language, entry["category"], MODEL)
    except Exception as e:  # noqa: BLE001 -- BFCL itself crashes on this candidate
        return None, f"crash:{type(e).__name__}"
    return bool(r["valid"]), None if r["valid"] else r.get("error_type")


# ------------------------------------------------------------------------------------------ rendering
def first_value(values):
    return next((v for v in values if v != ""), None)


def java_src(v, typ: str, item: str | None) -> str:
    if typ in ("Array", "ArrayList") and isinstance(v, list):
        items = [java_src(x, item or "any", None) for x in v]
        if typ == "Array":
            return f"new {'String' if item == 'String' else 'int' if item == 'integer' else 'Object'}[]{{{', '.join(items)}}}"
        return f"new ArrayList<>(Arrays.asList({', '.join(items)}))"
    if typ == "HashMap" and isinstance(v, dict):
        puts = " ".join(f'put("{k}", {java_src(first_value(x), "any", None)});' for k, x in v.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if typ == "long" and isinstance(v, int):
        return f"{v}L"
    if typ == "float" and isinstance(v, (int, float)):
        return f"{float(v)}f"
    if isinstance(v, (int, float)):
        return str(v)
    if typ == "String" or not isinstance(v, str) or not v.replace(".", "").replace("_", "").isalnum():
        return json.dumps(v) if isinstance(v, str) else json.dumps(v)
    return v  # a variable name, written as a Java name


def js_src(v, typ: str, item: str | None) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(js_src(x, item or "any", None) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {js_src(first_value(x), 'any', None)}" for k, x in v.items()) + "}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if typ == "Bigint" and isinstance(v, int):
        return f"{v}n"
    if isinstance(v, (int, float)):
        return str(v)
    if typ == "String" or not v.replace(".", "").replace("_", "").isalnum():
        return json.dumps(v)
    return v


def gold_args(entry: dict) -> tuple[str, dict, dict]:
    """-> (function name, {param: source text}, {param: (type, item type)})."""
    ((name, params),) = entry["ground_truth"][0].items()
    props = entry["function"][0]["parameters"]["properties"]
    src = java_src if entry["language"] == "java" else js_src
    args, types = {}, {}
    for p, values in params.items():
        v = first_value(values)
        if v is None:
            continue
        typ = props[p]["type"]
        item = props[p].get("items", {}).get("type")
        types[p] = (typ, item)
        args[p] = src(v, typ, item)
    return name, args, types


def call_text(name: str, args: dict) -> str:
    return f"[{name}(" + ", ".join(f"{k}={v}" for k, v in args.items()) + ")]"


def json_text(name: str, args: dict) -> str:
    return json.dumps([{"name": name, "arguments": json.dumps(args)}])


def mutate_value(kind: str, name: str, args: dict, rng: random.Random) -> dict | None:
    keys = [k for k in args if VALUE_MUTATIONS[kind](args[k], rng) is not None]
    if not keys:
        return None
    k = rng.choice(keys)
    return {**args, k: VALUE_MUTATIONS[kind](args[k], rng)}


def call_mutations(name: str, args: dict, rng: random.Random) -> dict:
    """kind -> call text (python rendering only)."""
    body = ", ".join(f"{k}={v}" for k, v in args.items())
    first = next(iter(args), "x")
    out = {
        "no_brackets": f"{name}({body})",
        "fence": f"```\n[{name}({body})]\n```",
        "semicolon": f"[{name}({body});]",
        "two_calls_comma": f"[{name}({body}), {name}({body})]",
        "two_calls_semicolon": f"[{name}({body}); {name}({body})]",
        "two_calls_newline": f"[{name}({body})\n{name}({body})]",
        "trailing_comma": f"[{name}({body},)]",
        "unclosed": f"[{name}({body}]",
        "empty_args": f"[{name}()]",
        "wrong_name": f"[{name}X({body})]",
        "short_name": f"[f({body})]",
        "dotted_prefix": f"[obj.{name}({body})]",
        "positional_ident": f"[{name}(someVar, {body})]",
        "positional_literal": f"[{name}(42, {body})]",
        "positional_true": f"[{name}(true, {body})]",
        "two_positional": f"[{name}(a, b, {body})]",
        "duplicate": f"[{name}({body}, {first}={args.get(first, '1')})]",
        "extra_param": f"[{name}({body}, extraParam=1)]",
        "comment": f"[{name}({body}) // done]",
        "block_comment": f"[{name}(/* c */ {body})]",
        "assign_result": f"[result = {name}({body})]",
        "new_call": f"[new {name}({body})]",
        "newlines": f"[{name}(\n  " + ",\n  ".join(f"{k} = {v}" for k, v in args.items()) + "\n)]",
        "spaced_eq": f"[{name}(" + ", ".join(f"{k} = {v}" for k, v in args.items()) + ")]",
        "compound_assign": f"[{name}({body}, extra+=1)]",
        "prose": f"Here is the call: [{name}({body})]",
        "chained": f"[{name}({body}).then(done)]",
        "text_only": "I cannot help with that.",
        "sequence": f"[x, {name}({body})]",
    }
    if args:
        drop = rng.choice(list(args))
        out["missing_param"] = call_text(name, {k: v for k, v in args.items() if k != drop})
        cut = rng.randrange(1, max(2, len(body)))
        out["truncated"] = f"[{name}({body[:cut]}"
    return out


def json_mutations(name: str, args: dict, raw: dict, rng: random.Random) -> dict:
    out = {"json_native_values": json.dumps([{"name": name, "arguments": json.dumps(raw)}])}
    if args:
        k = rng.choice(list(args))
        out["json_one_native"] = json.dumps(
            [{"name": name, "arguments": json.dumps({**args, k: raw.get(k)})}]
        )
        out["json_missing"] = json_text(name, {x: v for x, v in args.items() if x != k})
    out["json_wrong_name"] = json_text(name + "X", args)
    return out


def noise(text: str, rng: random.Random) -> tuple[str, str]:
    """One random character-level edit of a call text: (kind, edited text)."""
    i = rng.randrange(1, len(text) - 1)
    op = rng.choice(("noise_delete", "noise_insert", "noise_swap", "noise_replace"))
    if op == "noise_delete":
        return op, text[:i] + text[i + 1 :]
    if op == "noise_insert":
        return op, text[:i] + rng.choice(NOISE_CHARS) + text[i:]
    if op == "noise_swap":
        return op, text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return op, text[:i] + rng.choice(NOISE_CHARS) + text[i + 1 :]


def main() -> None:
    rng = random.Random(SEED)
    entries, rows = [], []
    for language, category in (("java", "simple_java"), ("javascript", "simple_javascript")):
        gts = {
            e["id"]: e["ground_truth"] for e in load(DATA / "possible_answer" / f"BFCL_v4_{category}.json")
        }
        for e in load(DATA / f"BFCL_v4_{category}.json"):
            entry = {
                "id": e["id"],
                "category": category,
                "language": language,
                "function": e["function"],
                "ground_truth": gts[e["id"]],
            }
            entries.append(entry)
            name, args, _ = gold_args(entry)
            ((_, params),) = entry["ground_truth"][0].items()
            raw = {k: first_value(v) for k, v in params.items() if first_value(v) is not None}
            cands = [("gold", "python", call_text(name, args)), ("gold", "json", json_text(name, args))]
            for kind in VALUE_MUTATIONS:
                m = mutate_value(kind, name, args, rng)
                if m is not None:
                    cands += [(kind, "python", call_text(name, m)), (kind, "json", json_text(name, m))]
            cands += [(k, "python", t) for k, t in call_mutations(name, args, rng).items()]
            cands += [(k, "json", t) for k, t in json_mutations(name, args, raw, rng).items()]
            gold = call_text(name, args)
            for snippet in SNIPPETS[language]:
                if args:
                    k = rng.choice(list(args))
                    cands.append(("snippet", "python", call_text(name, {**args, k: snippet})))
            for _ in range(NOISE_PER_ENTRY):
                kind, text = noise(gold, rng)
                cands.append((kind, "python", text))
            for kind, rendering, text in cands:
                valid, error_type = official(text, rendering, entry)
                rows.append(
                    {
                        "id": e["id"],
                        "kind": kind,
                        "rendering": rendering,
                        "text": text,
                        "valid": valid,
                        "error_type": error_type,
                    }
                )
    for fname, items in (("entries.jsonl.gz", entries), ("verdicts.jsonl.gz", rows)):
        data = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode()
        with gzip.GzipFile(HERE / fname, "wb", compresslevel=9, mtime=0) as f:  # byte-reproducible
            f.write(data)
    print(f"{len(entries)} entries, {len(rows)} candidates, {sum(bool(r['valid']) for r in rows)} valid")


if __name__ == "__main__":
    main()
