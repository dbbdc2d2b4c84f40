"""Candidate answers for the single-turn golden set: gold calls, their renderings and the mutations.

Used by ``make_golden.py`` next to it (plain Python, no bfcl-eval); see its docstring.
"""

from __future__ import annotations

import json

OMIT = object()  # a parameter left out of a rendered call


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
