"""Generate the golden verdict files from BFCL's own data and BFCL's official checker.

Run it in an environment holding bfcl-eval 2026.3.23 (its pins clash with verl's, so a separate venv):

    ../shared/tools/bfcl-checker-venv /tmp/bfclvenv          # or: pip install --no-deps bfcl-eval==2026.3.23 + its deps
    BFCL_PROJECT_ROOT=/tmp/bfclroot /tmp/bfclvenv/bin/python tests/data/bfcl/make_golden.py

It writes, next to itself:
  entries.jsonl.gz   the Python AST categories' entries: id, category, function, ground_truth
  verdicts.jsonl.gz  candidates: id, kind (which mutation), rendering (python|json), text, and the
                     official verdict: valid (true/false, or null where BFCL's checker raised) and
                     error_type

Official verdicts: python text goes through ``default_decode_ast_prompting`` (the prompting handlers'
decoder), JSON text through the FC handlers' route (``json.loads`` of each call's arguments); then
``is_function_calling_format_output`` and ``ast_checker`` -- exactly the steps of BFCL's
``_evaluate_single_ast_entry``. The mutations are drawn with a fixed seed, so the files are reproducible.
This script is not part of the test run and not of the funrl package.
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
from bfcl_eval.constants.enums import Language  # noqa: E402
from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING  # noqa: E402
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker  # noqa: E402
from bfcl_eval.model_handler.utils import default_decode_ast_prompting  # noqa: E402
from bfcl_eval.utils import is_function_calling_format_output  # noqa: E402

CATEGORIES = [
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
]
HERE = pathlib.Path(__file__).parent
DATA = pathlib.Path(bfcl_eval.__file__).parent / "data"
# A model whose names BFCL does not rewrite (underscore_to_dot False): names are compared as written.
MODEL = next(k for k, v in MODEL_CONFIG_MAPPING.items() if not v.underscore_to_dot).replace("/", "_")
OMIT = object()
SEED = 20261121


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


# ------------------------------------------------------------------------- official verdicts
def official(text: str, rendering: str, entry: dict) -> tuple:
    try:
        if rendering == "python":
            decoded = default_decode_ast_prompting(text)
        else:
            decoded = [
                {c["name"]: json.loads(c["arguments"]) if isinstance(c["arguments"], str) else c["arguments"]}
                for c in json.loads(text)
            ]
    except Exception:
        return False, "ast_decoder:decoder_failed"
    if not is_function_calling_format_output(decoded):
        return False, "ast_decoder:decoder_wrong_output_format"
    try:
        r = ast_checker(
            entry["function"], decoded, entry["ground_truth"], Language.PYTHON, entry["category"], MODEL
        )
    except Exception as e:  # BFCL's checker crashes on a few inputs; no verdict there
        return None, f"crash:{type(e).__name__}"
    return r["valid"], r.get("error_type")


# ------------------------------------------------------------------------- gold calls
def choose(v):
    """The first acceptable value, descending into dict answers (whose values are lists)."""
    if isinstance(v, dict):
        out = {}
        for k, vals in v.items():
            c = first_ok(vals) if isinstance(vals, list) else vals
            if c is not OMIT:
                out[k] = c
        return out
    if isinstance(v, list):
        return [choose(x) if isinstance(x, dict) else x for x in v]
    return v


def first_ok(values, pick_last=False):
    cands = [v for v in values if v != ""]
    if not cands:
        return OMIT
    return choose(cands[-1] if pick_last else cands[0])


def gold_calls(entry, pick_last=False):
    calls = []
    for call in entry["ground_truth"]:
        ((name, params),) = call.items()
        args = {}
        for p, vals in params.items():
            c = first_ok(vals, pick_last)
            if c is not OMIT:
                args[p] = c
        calls.append([name, args])
    return calls


# ------------------------------------------------------------------------- rendering
def render_python(calls, style=repr):
    return (
        "[" + ", ".join(f"{n}({', '.join(f'{k}={style(v)}' for k, v in a.items())})" for n, a in calls) + "]"
    )


def render_json(calls, args_as_string=False, key="arguments"):
    out = []
    for n, a in calls:
        out.append({"name": n, key: json.dumps(a) if args_as_string else a})
    return json.dumps(out)


def json_ok(calls) -> bool:
    def ok(v):
        if isinstance(v, (str, int, float, bool)) or v is None:
            return True
        if isinstance(v, list):
            return all(ok(x) for x in v)
        if isinstance(v, dict):
            return all(isinstance(k, str) and ok(x) for k, x in v.items())
        return False

    return all(ok(a) for _, a in calls)


def dq_repr(v):
    """Python literal with double-quoted strings (another common model style)."""
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(dq_repr(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{dq_repr(k)}: {dq_repr(x)}" for k, x in v.items()) + "}"
    return repr(v)


# ------------------------------------------------------------------------- mutations
def copy_calls(calls):
    return json.loads(json.dumps(calls)) if json_ok(calls) else [[n, dict(a)] for n, a in calls]


def pick_param(calls, rng, pred=lambda v: True):
    opts = [(i, k) for i, (_, a) in enumerate(calls) for k, v in a.items() if pred(v)]
    return rng.choice(opts) if opts else None


def is_int(v):
    return type(v) is int


def is_num(v):
    return type(v) in (int, float)


def mutate_value(pred, fn):
    def m(calls, entry, rng):
        c = copy_calls(calls)
        p = pick_param(c, rng, pred)
        if p is None:
            return None
        i, k = p
        c[i][1][k] = fn(c[i][1][k], rng)
        return c

    return m


def punct(s, rng):
    chars = list(s)
    for _ in range(rng.randint(1, 3)):
        chars.insert(rng.randint(0, len(chars)), rng.choice(" ,./-_*^"))
    return "".join(chars)


def schema_of(entry, name):
    for f in entry["function"]:
        if f["name"] == name:
            return f["parameters"]
    return {"properties": {}, "required": []}


def dummy(ptype):
    return {"string": "x", "integer": 1, "float": 1.5, "boolean": True, "array": ["x"], "dict": {"x": 1}}.get(
        ptype, "x"
    )


def m_drop_param(calls, entry, rng):
    c = copy_calls(calls)
    p = pick_param(c, rng)
    if p is None:
        return None
    del c[p[0]][1][p[1]]
    return c


def m_extra_schema_param(calls, entry, rng):
    c = copy_calls(calls)
    i = rng.randrange(len(c))
    props = schema_of(entry, c[i][0]).get("properties", {})
    free = [k for k in props if k not in c[i][1]]
    if not free:
        return None
    k = rng.choice(free)
    c[i][1][k] = dummy(props[k].get("type"))
    return c


def m_extra_unknown(calls, entry, rng):
    c = copy_calls(calls)
    c[rng.randrange(len(c))][1]["zz_extra"] = 1
    return c


def m_rename_param(calls, entry, rng):
    c = copy_calls(calls)
    p = pick_param(c, rng)
    if p is None:
        return None
    i, k = p
    c[i][1] = {(kk.upper() if kk == k else kk): v for kk, v in c[i][1].items()}
    return c


def m_alt_value(calls, entry, rng):
    return gold_calls(entry, pick_last=True)


def m_drop_optional(calls, entry, rng):
    c = copy_calls(calls)
    for (_, a), gt in zip(c, entry["ground_truth"]):
        ((_, params),) = gt.items()
        for p, vals in params.items():
            if "" in vals and p in a:
                del a[p]
    return c


def m_reorder(calls, entry, rng):
    if len(calls) < 2:
        return None
    c = copy_calls(calls)
    rng.shuffle(c)
    return c


def m_drop_call(calls, entry, rng):
    c = copy_calls(calls)
    del c[rng.randrange(len(c))]
    return c


def m_dup_call(calls, entry, rng):
    c = copy_calls(calls)
    c.append(copy_calls([c[rng.randrange(len(c))]])[0])
    return c


def m_other_func(calls, entry, rng):
    names = [f["name"] for f in entry["function"]]
    c = copy_calls(calls)
    i = rng.randrange(len(c))
    others = [n for n in names if n != c[i][0]]
    if not others:
        return None
    c[i][0] = rng.choice(others)
    return c


def m_name_case(calls, entry, rng):
    c = copy_calls(calls)
    i = rng.randrange(len(c))
    c[i][0] = c[i][0].upper() if c[i][0] != c[i][0].upper() else c[i][0].lower()
    return c


def m_swap_values(calls, entry, rng):
    """Swap the same parameter's values between two parallel calls."""
    if len(calls) < 2:
        return None
    c = copy_calls(calls)
    common = set(c[0][1]) & set(c[1][1])
    if not common:
        return None
    k = rng.choice(sorted(common))
    c[0][1][k], c[1][1][k] = c[1][1][k], c[0][1][k]
    return c


def m_list_elem(fn):
    def m(calls, entry, rng):
        c = copy_calls(calls)
        p = pick_param(c, rng, lambda v: isinstance(v, list) and v)
        if p is None:
            return None
        i, k = p
        c[i][1][k] = fn(list(c[i][1][k]), rng)
        return c

    return m


def m_dict_value(fn):
    def m(calls, entry, rng):
        c = copy_calls(calls)
        p = pick_param(c, rng, lambda v: isinstance(v, dict) and v)
        if p is None:
            return None
        i, k = p
        d = dict(c[i][1][k])
        fn(d, rng)
        c[i][1][k] = d
        return c

    return m


def _dict_drop(d, rng):
    del d[rng.choice(sorted(d))]


def _dict_add(d, rng):
    d["zz_key"] = "x"


def _dict_upper(d, rng):
    k = rng.choice(sorted(d))
    if isinstance(d[k], str):
        d[k] = d[k].upper()
    elif is_num(d[k]):
        d[k] = d[k] + 1
    else:
        d[k] = "changed"


def _list_str_upper(v, rng):
    return [x.upper() if isinstance(x, str) else x for x in v]


def _list_int_float(v, rng):
    return [float(x) if is_int(x) else x for x in v]


STRUCTURED = {
    "int_to_float": mutate_value(is_int, lambda v, r: float(v)),
    "int_to_str": mutate_value(is_int, lambda v, r: str(v)),
    "float_to_int": mutate_value(lambda v: type(v) is float and v.is_integer(), lambda v, r: int(v)),
    "num_plus_one": mutate_value(is_num, lambda v, r: v + 1),
    "bool_flip": mutate_value(lambda v: type(v) is bool, lambda v, r: not v),
    "bool_to_int": mutate_value(lambda v: type(v) is bool, lambda v, r: int(v)),
    "to_none": mutate_value(lambda v: True, lambda v, r: None),
    "str_upper": mutate_value(lambda v: isinstance(v, str), lambda v, r: v.upper()),
    "str_punct": mutate_value(lambda v: isinstance(v, str), punct),
    "str_bang": mutate_value(lambda v: isinstance(v, str), lambda v, r: v + "!"),
    "str_quote": mutate_value(lambda v: isinstance(v, str), lambda v, r: v.replace("'", '"') + "'"),
    "str_to_list": mutate_value(lambda v: isinstance(v, str), lambda v, r: [v]),
    "str_strip_char": mutate_value(lambda v: isinstance(v, str) and len(v) > 1, lambda v, r: v[:-1]),
    "list_reverse": m_list_elem(lambda v, r: v[::-1]),
    "list_drop": m_list_elem(lambda v, r: v[:-1]),
    "list_dup": m_list_elem(lambda v, r: v + v[:1]),
    "list_str_upper": m_list_elem(_list_str_upper),
    "list_int_float": m_list_elem(_list_int_float),
    "list_empty": m_list_elem(lambda v, r: []),
    "dict_drop_key": m_dict_value(_dict_drop),
    "dict_add_key": m_dict_value(_dict_add),
    "dict_change_value": m_dict_value(_dict_upper),
    "drop_param": m_drop_param,
    "drop_optional": m_drop_optional,
    "extra_schema_param": m_extra_schema_param,
    "extra_unknown_param": m_extra_unknown,
    "rename_param": m_rename_param,
    "alt_value": m_alt_value,
    "reorder_calls": m_reorder,
    "drop_call": m_drop_call,
    "dup_call": m_dup_call,
    "other_function": m_other_func,
    "name_case": m_name_case,
    "swap_values": m_swap_values,
    "empty_calls": lambda calls, entry, rng: [],
}


# Python-text-only candidates: syntax BFCL's decoder treats in its own ways.
def _arg_text(calls, rng, pred, render):
    """Render with one parameter's value text replaced by render(value)."""
    p = pick_param(calls, rng, pred)
    if p is None:
        return None
    i0, k0 = p
    parts = []
    for i, (n, a) in enumerate(calls):
        args = ", ".join(f"{k}={render(v) if (i, k) == (i0, k0) else repr(v)}" for k, v in a.items())
        parts.append(f"{n}({args})")
    return "[" + ", ".join(parts) + "]"


def t_positional(calls, rng):
    n, a = calls[0]
    if not a:
        return None
    items = list(a.items())
    head = repr(items[0][1])
    rest = ", ".join(f"{k}={v!r}" for k, v in items[1:])
    first = f"{n}({head}{', ' + rest if rest else ''})"
    return "[" + ", ".join([first] + [render_python([c])[1:-1] for c in calls[1:]]) + "]"


PYTHON_TEXT = {
    "py_double_quotes": lambda c, r: render_python(c, dq_repr),
    "py_no_brackets": lambda c, r: render_python(c)[1:-1],
    "py_fence": lambda c, r: "```\n" + render_python(c) + "\n```",
    "py_fence_lang": lambda c, r: "```python\n" + render_python(c) + "\n```",
    "py_trailing_text": lambda c, r: render_python(c) + " I called the function.",
    "py_leading_text": lambda c, r: "Here is the call: " + render_python(c),
    "py_newlines": lambda c, r: render_python(c).replace(", ", ",\n    "),
    "py_trailing_comma": lambda c, r: render_python(c)[:-1] + ",]",
    "py_binop_int": lambda c, r: _arg_text(c, r, is_int, lambda v: f"{v - 1} + 1"),
    "py_binop_float": lambda c, r: _arg_text(c, r, lambda v: type(v) is float, lambda v: f"{v!r} * 1"),
    "py_binop_str": lambda c, r: _arg_text(
        c, r, lambda v: isinstance(v, str) and len(v) > 1, lambda v: f"{v[:1]!r} + {v[1:]!r}"
    ),
    "py_unary_plus": lambda c, r: _arg_text(c, r, lambda v: is_num(v) and v > 0, lambda v: f"+{v!r}"),
    "py_negative": lambda c, r: _arg_text(c, r, lambda v: is_num(v) and v < 0, lambda v: f"- {abs(v)!r}"),
    "py_bare_name": lambda c, r: _arg_text(c, r, lambda v: isinstance(v, str) and v.isidentifier(), str),
    "py_nested_call": lambda c, r: _arg_text(c, r, lambda v: True, lambda v: f"make(value={v!r})"),
    "py_call_no_kw": lambda c, r: _arg_text(c, r, lambda v: True, lambda v: f"make({v!r})"),
    "py_subscript": lambda c, r: _arg_text(c, r, lambda v: True, lambda v: "data['x'][0]"),
    "py_attribute": lambda c, r: _arg_text(c, r, lambda v: True, lambda v: "math.pi"),
    "py_tuple": lambda c, r: _arg_text(c, r, lambda v: isinstance(v, list), lambda v: repr(tuple(v))),
    "py_escape": lambda c, r: _arg_text(c, r, lambda v: isinstance(v, str), lambda v: repr(v + "\n")),
    "py_prefix": lambda c, r: _arg_text(c, r, lambda v: isinstance(v, str), lambda v: "u" + repr(v)),
    "py_concat": lambda c, r: _arg_text(c, r, lambda v: isinstance(v, str), lambda v: repr(v) + " ''"),
    "py_kwargs": lambda c, r: render_python(c)[:-2] + (", **extra)]" if c and c[-1][1] else "**extra)]"),
    "py_positional": t_positional,
    "py_set": lambda c, r: _arg_text(
        c, r, lambda v: isinstance(v, list) and v, lambda v: "{" + repr(v)[1:-1] + "}"
    ),
    "py_hex": lambda c, r: _arg_text(c, r, lambda v: is_int(v) and v >= 0, hex),
    "py_underscore_num": lambda c, r: _arg_text(c, r, lambda v: is_int(v) and v >= 1000, lambda v: f"{v:_}"),
    "py_exponent": lambda c, r: _arg_text(c, r, lambda v: type(v) is float, lambda v: f"{v:e}"),
    "py_quoted_whole": lambda c, r: "'" + render_python(c) + "'",
    "py_garbage": lambda c, r: r.choice(["", "I cannot help with that.", "[]", "[f(", "None", "{}", "]]"]),
    # more syntax odd and ordinary: unicode, big numbers, spacing, nesting, keywords, operators
    "py_unicode": lambda c, r: _arg_text(c, r, lambda v: isinstance(v, str), lambda v: repr(v + "é漢字😀")),
    "py_big_int": lambda c, r: _arg_text(c, r, is_int, lambda v: repr(v * 10**30)),
    "py_neg_list": lambda c, r: _arg_text(
        c, r, lambda v: isinstance(v, list), lambda v: repr([-1, -2.5] + v)
    ),
    "py_small_float": lambda c, r: _arg_text(c, r, lambda v: type(v) is float, lambda v: repr(v / 1e7)),
    "py_spaces": lambda c, r: render_python(c).replace("=", " = ").replace("(", " (", 1),
    "py_tabs": lambda c, r: render_python(c).replace(", ", ",\t"),
    "py_nested_value": lambda c, r: _arg_text(c, r, lambda v: True, lambda v: repr([[v], {"k": [v]}])),
    "py_dict_in_list": lambda c, r: _arg_text(c, r, lambda v: True, lambda v: repr([{"a": v, "b": [1, 2]}])),
    "py_none": lambda c, r: _arg_text(c, r, lambda v: True, lambda v: "None"),
    "py_bool": lambda c, r: _arg_text(c, r, lambda v: True, lambda v: r.choice(["True", "False"])),
    "py_empty_str": lambda c, r: _arg_text(c, r, lambda v: isinstance(v, str), lambda v: "''"),
    "py_dq_escape": lambda c, r: _arg_text(
        c, r, lambda v: isinstance(v, str), lambda v: json.dumps(v + '"x')
    ),
    "py_keyword_value": lambda c, r: _arg_text(
        c, r, lambda v: True, lambda v: r.choice(["if", "lambda", "not", "class", "yield"])
    ),
    "py_int_dot": lambda c, r: _arg_text(c, r, is_int, lambda v: f"{v}."),
    "py_leading_dot": lambda c, r: _arg_text(
        c, r, lambda v: type(v) is float and 0 < v < 1, lambda v: repr(v)[1:]
    ),
    "py_paren_value": lambda c, r: _arg_text(c, r, lambda v: True, lambda v: f"({v!r})"),
    "py_list_trailing_comma": lambda c, r: _arg_text(
        c, r, lambda v: isinstance(v, list) and v, lambda v: repr(v)[:-1] + ",]"
    ),
    "py_calls_trailing_comma": lambda c, r: "[" + ", ".join(render_python([x])[1:-1] for x in c) + ",\n]",
    "py_dotted_space": lambda c, r: render_python(c).replace(".", " . ", 1),
    "py_mult_str": lambda c, r: _arg_text(c, r, lambda v: isinstance(v, str) and v, lambda v: f"{v!r} * 1"),
    "py_pow": lambda c, r: _arg_text(c, r, is_int, lambda v: f"{v} ** 1"),
    "py_div": lambda c, r: _arg_text(c, r, lambda v: type(v) is float, lambda v: f"{v * 2!r} / 2"),
    "py_floordiv": lambda c, r: _arg_text(c, r, is_int, lambda v: f"{v * 3} // 3"),
    "py_neg_neg": lambda c, r: _arg_text(c, r, is_num, lambda v: f"-(-{abs(v)!r})"),
    "py_not": lambda c, r: _arg_text(c, r, lambda v: type(v) is bool, lambda v: f"not {not v}"),
    "py_tilde": lambda c, r: _arg_text(c, r, is_int, lambda v: f"~{v}"),
    "py_compare": lambda c, r: _arg_text(c, r, lambda v: type(v) is bool, lambda v: "1 < 2"),
    "py_kw_none": lambda c, r: render_python(c).replace("(", "(None=1, ", 1),
    "py_concat_plus": lambda c, r: _arg_text(
        c, r, lambda v: isinstance(v, str) and len(v) > 2, lambda v: f"{v[:2]!r}+{v[2:]!r}+''"
    ),
}


def main() -> None:
    rng = random.Random(SEED)
    entries = []
    for cat in CATEGORIES:
        qs = {q["id"]: q for q in load(DATA / f"BFCL_v4_{cat}.json")}
        for a in load(DATA / "possible_answer" / f"BFCL_v4_{cat}.json"):
            q = qs[a["id"]]
            entries.append(
                {"id": a["id"], "category": cat, "function": q["function"], "ground_truth": a["ground_truth"]}
            )
    rows = []
    counts = {}
    for entry in entries:
        gold = gold_calls(entry)
        cands = [("gold", gold)]
        for kind in rng.sample(sorted(STRUCTURED), 12):
            m = STRUCTURED[kind](gold, entry, rng)
            if m is not None:
                cands.append((kind, m))
        for _ in range(2):  # two mutations composed
            k1, k2 = rng.sample(sorted(STRUCTURED), 2)
            m = STRUCTURED[k1](gold, entry, rng)
            m = STRUCTURED[k2](m, entry, rng) if m else None
            if m is not None:
                cands.append((f"{k1}+{k2}", m))
        for kind, calls in cands:
            renders = [("python", render_python(calls))]
            if json_ok(calls):
                style = rng.random()
                if style < 0.2:
                    renders.append(("json", render_json(calls, args_as_string=True)))
                else:
                    renders.append(("json", render_json(calls)))
            for rendering, text in renders:
                rows.append((entry, kind, rendering, text))
        for kind in rng.sample(sorted(PYTHON_TEXT), 10):
            text = PYTHON_TEXT[kind](gold, rng)
            if text is not None:
                rows.append((entry, kind, "python", text))
    out = []
    for entry, kind, rendering, text in rows:
        valid, error_type = official(text, rendering, entry)
        counts[(valid, rendering)] = counts.get((valid, rendering), 0) + 1
        out.append(
            {
                "id": entry["id"],
                "kind": kind,
                "rendering": rendering,
                "text": text,
                "valid": valid,
                "error_type": error_type,
            }
        )
    with gzip.open(HERE / "entries.jsonl.gz", "wt", compresslevel=9) as f:
        for e in entries:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    with gzip.open(HERE / "verdicts.jsonl.gz", "wt", compresslevel=9) as f:
        for row in out:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(
        f"{len(entries)} entries, {len(out)} candidates; verdicts by (valid, rendering): {counts}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
