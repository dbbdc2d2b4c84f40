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
categories. Candidates: each ground truth rendered as Java/JS source, and mutations of it drawn with a
fixed seed (the files are reproducible). Not part of the test run nor of the funrl package.
"""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import random

os.environ.setdefault("BFCL_PROJECT_ROOT", "/tmp/bfclroot")
pathlib.Path(os.environ["BFCL_PROJECT_ROOT"]).mkdir(parents=True, exist_ok=True)

import bfcl_eval  # noqa: E402
from bfcl_eval.constants.enums import Language, ReturnFormat  # noqa: E402
from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING  # noqa: E402
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker  # noqa: E402
from bfcl_eval.model_handler.utils import default_decode_ast_prompting  # noqa: E402
from bfcl_eval.utils import is_function_calling_format_output  # noqa: E402

HERE = pathlib.Path(__file__).parent
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


# ------------------------------------------------------------------------------------------ mutations
def _digits(t: str) -> bool:
    return t.lstrip("-").replace(".", "", 1).isdigit()


VALUE_MUTATIONS = {  # kind -> f(source text, rng) -> new text (None: not applicable)
    "drop_suffix": lambda t, r: t[:-1] if t[-1:] in "LlfFdn" and _digits(t[:-1]) else None,
    "add_L": lambda t, r: t + "L" if _digits(t) else None,
    "add_f": lambda t, r: t + "f" if _digits(t) else None,
    "add_n": lambda t, r: t + "n" if t.lstrip("-").isdigit() else None,
    "dot0": lambda t, r: t + ".0" if t.lstrip("-").isdigit() else None,
    "int_of_float": lambda t, r: t[:-2] if t.endswith(".0") else None,
    "exp": lambda t, r: t.replace(".0", "e0") if t.endswith(".0") else None,
    "negate": lambda t, r: "-" + t if _digits(t) else None,
    "plus_one": lambda t, r: str(int(t) + 1) if t.lstrip("-").isdigit() else None,
    "quote": lambda t, r: json.dumps(t) if not t.startswith('"') else None,
    "single_quote": lambda t, r: "'" + t.strip('"') + "'",
    "unquote": lambda t, r: t[1:-1] if t.startswith('"') else None,
    "upper": lambda t, r: t.upper() if t.upper() != t else None,
    "append_x": lambda t, r: t[:-1] + 'x"' if t.endswith('"') else t + "x",
    "escape": lambda t, r: t[:-1] + '\\"q"' if t.endswith('"') else None,
    "inner_space": lambda t, r: t[:-1] + ' -_."' if t.endswith('"') else None,
    "template": lambda t, r: "`" + t.strip("\"'") + "`",
    "null": lambda t, r: "null",
    "undefined": lambda t, r: "undefined",
    "true": lambda t, r: "true",
    "false": lambda t, r: "false",
    "spaces": lambda t, r: t.replace(",", " , ").replace("(", "( ").replace("{", "{ "),
    "no_spaces": lambda t, r: t.replace(", ", ",").replace(" {", "{").replace("{ ", "{"),
    "plus_expr": lambda t, r: t + " + 1",
    "paren": lambda t, r: "(" + t + ")",
    "cast": lambda t, r: "(int) " + t,
    "call": lambda t, r: "getValue(" + t + ")",
    "member": lambda t, r: "obj.field",
    "classlit": lambda t, r: "String.class",
    "lambda": lambda t, r: "x -> x",
    "arrow": lambda t, r: "(x) => x",
    "ternary": lambda t, r: "flag ? " + t + " : null",
    "braces": lambda t, r: "{" + t[t.index("{") + 1 :] if "{" in t and t.startswith("new") else None,
    "brackets": lambda t, r: (
        "[" + t[t.index("(", t.index("asList")) + 1 : -2] + "]" if "asList" in t else None
    ),
    "to_arraylist": lambda t, r: (
        "new ArrayList<>(Arrays.asList(" + t[t.index("{") + 1 : -1] + "))"
        if t.startswith("new") and "{" in t
        else None
    ),
    "to_array": lambda t, r: (
        "new String[]{" + t[t.index("asList(") + 7 : -2] + "}" if "asList(" in t else None
    ),
    "add_block": lambda t, r: (
        "new ArrayList<String>() {{ "
        + " ".join(f"add({x.strip()});" for x in t[t.index("asList(") + 7 : -2].split(","))
        + " }}"
        if "asList(" in t
        else None
    ),
    "empty_list": lambda t, r: "new ArrayList<>()",
    "empty_map": lambda t, r: "new HashMap<>()",
    "empty_array": lambda t, r: "new int[]{}",
    "array_size": lambda t, r: "new int[2]",
    "nested_array": lambda t, r: "[[1, 2], [3, 4]]",
    "new_array_js": lambda t, r: "new Array(" + t[1:-1] + ")" if t.startswith("[") else None,
    "array_trailing_comma": lambda t, r: t[:-1] + ",]" if t.startswith("[") and t != "[]" else None,
    "quoted_keys": lambda t, r: (
        "{"
        + ", ".join(
            f'"{kv.split(":", 1)[0].strip()}":{kv.split(":", 1)[1]}'
            for kv in t[1:-1].split(", ")
            if ":" in kv
        )
        + "}"
        if t.startswith("{") and ":" in t
        else None
    ),
    "nested_object": lambda t, r: "{outer: {inner: 1}, k: 'v'}",
    "object_of_array": lambda t, r: "{k: [1, 2], m: 'x'}",
    "char": lambda t, r: "'c'",
    "hex": lambda t, r: hex(int(t)) if t.isdigit() else None,
    "underscore_num": lambda t, r: t[0] + "_" + t[1:] if t.isdigit() and len(t) > 1 else None,
    "unclosed_string": lambda t, r: '"' + t.strip('"'),
    "string_concat": lambda t, r: '"a" + "b"',
    "put_map": lambda t, r: 'new HashMap<String, Integer>() {{ put("a", 1); put("b", 2); }}',
    "regex": lambda t, r: "/ab+c/i",
    "spread_array": lambda t, r: "[...items]",
}


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


# Valid (and a few invalid) Java / JavaScript expressions put in place of one argument each.
SNIPPETS = {}
SNIPPETS["java"] = [
    "x -> x + 1",
    "(a, b) -> a * b",
    "(int a) -> a",
    "x -> { return x; }",
    "flag ? 1 : 2",
    "a.b.c",
    "a[0][1]",
    "new int[][]{{1, 2}, {3}}",
    "new String[0]",
    "new Foo<Bar>(1)",
    "Foo.<T>bar()",
    'obj.method(1, "a")',
    "String::valueOf",
    "this::run",
    'new Object() { public String toString() { return "x"; } }',
    "(String) obj",
    "(int) 3.5",
    "!done",
    "~mask",
    "a instanceof B",
    "x++",
    "--y",
    "1 << 3",
    "a >>> 2",
    "a >= b && c",
    '"a" + b + "c"',
    "'\\n'",
    "'\\u0041'",
    '"\\t\\"q\\""',
    "0b1010",
    "0x1FL",
    "017",
    "1_000_000",
    "1e-3",
    ".5f",
    "5.d",
    "Long.MAX_VALUE",
    "int.class",
    "String[].class",
    "java.util.List.of(1, 2)",
    'Arrays.asList("a", "b")',
    "new ArrayList<>(List.of(1))",
    "new HashMap<String, List<Integer>>()",
    "@Foo x",
    "null",
    "true",
    "super.x",
    "this",
    "a = b",
    "a += 1",
    "new int[]{}",
    "{1, 2}",
    '"""\ntext\n"""',
    "switch (x) { default -> 1; }",
    'Map.of("k", 1)',
    "Optional.<String>empty()",
    "a ? b ? c : d : e",
    "(x)",
    "((y))",
    "new Outer.Inner()",
    "outer.new Inner()",
    "List<String>",
    "int[]",
    "var",
    "yield",
    "record",
    "sealed",
    "permits",
    "a < b",
    "a<b>c",
    "f(g(h(1)))",
    "-5L",
    "+3",
    "1.0e10f",
]
SNIPPETS["javascript"] = [
    "x => x + 1",
    "(a, b) => a * b",
    "async () => await x",
    "function(a) { return a; }",
    "function named() {}",
    "flag ? 1 : 2",
    "a.b.c",
    "a?.b",
    "a?.[0]",
    "a?.()",
    "a[0][1]",
    "[1, [2, [3]]]",
    "[,1,,2]",
    "[...xs, 1]",
    "{...obj, a: 1}",
    "{a, b}",
    '{"k": 1, [key]: 2}',
    "{get x() { return 1; }}",
    "{m() {}}",
    "`t${a + `n${b}`}`",
    "tag`x`",
    "/ab+c/gi",
    "/[/]/",
    "new Date()",
    "new Foo",
    "new a.B(1)",
    "typeof x",
    "void 0",
    "delete a.b",
    "!done",
    "a ?? b",
    "a || b && c",
    "a ** 2",
    "x++",
    "--y",
    "a instanceof B",
    '"k" in obj',
    "0x1F",
    "0b101",
    "0o17",
    "1_000",
    "10n",
    "1e-3",
    ".5",
    "5.",
    "null",
    "undefined",
    "NaN",
    "Infinity",
    "this",
    "super.x",
    "'it\\'s'",
    '"\\u{1F600}"',
    '"\\x41"',
    '"a\\\nb"',
    "(1, 2)",
    "(x)",
    "a = b",
    "a += 1",
    "a = b = c",
    "[a, b] = c",
    "class {}",
    "class A extends B {}",
    "yield",
    "await",
    "let",
    "of",
    "async",
    "get",
    'import("x")',
    "import.meta",
    "new.target",
    "#x in obj",
    "<div/>",
    "a\n.b",
    "f(g(h(1)))",
    "-5",
    "+3",
    '"a" + "b"',
    "{a: 1}.a",
    "[1][0]",
    "function* g() {}",
]


NOISE_CHARS = "\"'(){}[],;=.<>+-*/ \n\tLfnx0:?!&|`$@#\\"
NOISE_PER_ENTRY = 60


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
        with gzip.open(HERE / fname, "wt", compresslevel=9) as f:
            for item in items:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(entries)} entries, {len(rows)} candidates, {sum(bool(r['valid']) for r in rows)} valid")


if __name__ == "__main__":
    main()
