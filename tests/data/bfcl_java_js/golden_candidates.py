"""Candidate material for make_golden.py (next to it): value mutations, syntax snippets, noise alphabet.

Kept apart so that the generator stays short; not part of the test run nor of the funrl package.
"""

from __future__ import annotations

import json


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
