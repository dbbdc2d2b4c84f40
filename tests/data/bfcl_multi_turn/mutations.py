"""The candidate trajectories of the multi-turn golden set: the gold answer in several shapes and its
mutations, drawn from one random stream per entry (seeded with ``SEED`` and the entry id).

Used by ``make_golden.py`` next to it (see its docstring for how to run it). The kinds are made group by
group, in a fixed order, each group drawing from the same stream: reordering the groups, or the draws
within one, changes every candidate after it.
"""

from __future__ import annotations

import ast
import random

from call_surgery import (
    FOREIGN,
    RAISING,
    READ_ONLY,
    STATEFUL,
    TWITTER_DEFAULT_STATE,
    add_default_kwarg,
    add_unknown_kwarg,
    constants,
    drop_default_kwarg,
    drop_required,
    extra_positional,
    floats_to_ints,
    ints_to_floats,
    is_read_only_name,
    kw_to_positional,
    method_of,
    mutate_value,
    parse,
    positional_to_kw,
    put_arg,
    render,
    replace_value,
    respell,
    reverse_list_arg,
    same_param_twice,
)

SEED = 20261129


def one_step(turns):
    return [[list(t)] if t else [] for t in turns]


class _Candidates:
    """One entry's ground truth, its random stream and the candidates made so far, with the edits shared
    by the groups of kinds below."""

    def __init__(self, entry: dict, gt: list):
        self.entry = entry
        self.gt = gt
        self.rng = random.Random(f"{SEED}:{entry['id']}")
        self.classes = entry["involved_classes"]
        self.n = len(gt)
        self.full = [i for i, t in enumerate(gt) if t]
        self.empty = [i for i, t in enumerate(gt) if not t]
        self.calls = [(i, j) for i in self.full for j in range(len(gt[i]))]
        self.out = []

    def add(self, kind, turns):
        self.out.append((kind, turns))

    def with_turns(self, fn):
        turns = [list(t) for t in self.gt]
        fn(turns)
        return turns

    def replace_call(self, kind, new_fn, spots=None, tries=6):
        """Replace one call (the first spot where new_fn gives a changed call)."""
        gt = self.gt
        spots = list(spots if spots is not None else self.calls)
        self.rng.shuffle(spots)
        for i, j in spots[:tries] if tries else spots:
            new = new_fn(gt[i][j])
            if new is not None and new != gt[i][j]:
                self.add(
                    kind, one_step(self.with_turns(lambda t, i=i, j=j, new=new: t[i].__setitem__(j, new)))
                )
                return

    def replaced(self, i, j, call):
        turns = [list(t) for t in self.gt]
        turns[i][j] = call
        return one_step(turns)

    def insert(self, kind, call, i=None, pos=None):
        i = self.rng.choice(self.full) if i is None else i
        turns = [list(t) for t in self.gt]
        p = self.rng.randint(0, len(turns[i])) if pos is None else pos
        turns[i].insert(p, call)
        self.add(kind, one_step(turns))


def gold_variants(c: _Candidates) -> None:
    """The gold answer, in several shapes."""
    gt, rng, add = c.gt, c.rng, c.add
    add("gold", one_step(gt))
    add("gold_split", [[[x] for x in t] for t in gt])
    sprinkled = []
    for t in gt:
        steps = [[x] for x in t]
        for _ in range(rng.randint(1, 2)):
            steps.insert(rng.randint(0, len(steps)), [])
        sprinkled.append(steps)
    add("gold_empty_steps", sprinkled)
    add("gold_blank_string_step", [[[""], list(t)] if t else [[""]] for t in gt])
    add("gold_two_step_halves", [[list(t[: len(t) // 2]), list(t[len(t) // 2 :])] if t else [] for t in gt])
    if c.empty:
        add("gold_empty_turn_nested", [[list(t)] if t else [[]] for t in gt])
        add("gold_empty_turn_double", [[list(t)] if t else [[], []] for t in gt])
    add("gold_respelled", one_step([[respell(x) for x in t] for t in gt]))


def missing_and_extra(c: _Candidates) -> None:
    """A call missing, or one more call (a duplicate, a whole turn again, a state-changing call)."""
    gt, rng, add, with_turns, full, classes = c.gt, c.rng, c.add, c.with_turns, c.full, c.classes
    for _ in range(1):
        i, j = rng.choice(c.calls)
        add("missing_call", one_step(with_turns(lambda t, i=i, j=j: t[i].pop(j))))
    multi = [i for i in full if len(gt[i]) >= 2]
    if multi:
        i = rng.choice(multi)
        add(
            "missing_call_multi_turn", one_step(with_turns(lambda t, i=i: t[i].pop(rng.randrange(len(t[i])))))
        )
    i, j = rng.choice(c.calls)
    add("extra_duplicate_call", one_step(with_turns(lambda t, i=i, j=j: t[i].insert(j + 1, t[i][j]))))
    i = rng.choice(full)
    add(
        "repeat_whole_turn",
        [[list(gt[k]), list(gt[k])] if k == i else ([list(gt[k])] if gt[k] else []) for k in range(c.n)],
    )
    cls = rng.choice(classes)
    c.insert("extra_state_call", rng.choice(STATEFUL[cls]))
    c.insert(
        "extra_state_call_last_turn",
        rng.choice(STATEFUL[rng.choice(classes)]),
        i=full[-1],
        pos=len(gt[full[-1]]),
    )


def order_changes(c: _Candidates) -> None:
    """The right calls in another order, within a turn or across turns."""
    gt, rng, add, with_turns, full, n = c.gt, c.rng, c.add, c.with_turns, c.full, c.n
    reorderable = [i for i in full if len(set(gt[i])) >= 2]
    for i in rng.sample(reorderable, min(1, len(reorderable))):

        def shuffle(t, i=i):
            orig = list(t[i])
            while t[i] == orig:
                rng.shuffle(t[i])

        add("reorder_within_turn", one_step(with_turns(shuffle)))
    if len(full) >= 2:
        k = rng.randrange(len(full) - 1)
        a, b = full[k], full[k + 1]
        add(
            "swap_turn_contents",
            one_step(
                with_turns(
                    lambda t, a=a, b=b: t.__setitem__(
                        slice(None), [t[b] if x == a else t[a] if x == b else t[x] for x in range(n)]
                    )
                )
            ),
        )
    movable = [i for i in range(1, n) if gt[i]]
    if movable:
        i = rng.choice(movable)
        add("move_call_prev_turn", one_step(with_turns(lambda t, i=i: t[i - 1].append(t[i].pop(0)))))
    movable = [i for i in range(n - 1) if gt[i]]
    if movable:
        i = rng.choice(movable)
        add("move_call_next_turn", one_step(with_turns(lambda t, i=i: t[i + 1].insert(0, t[i].pop()))))
    if n >= 2:
        add("all_calls_first_turn", one_step([[x for t in gt for x in t]] + [[] for _ in range(n - 1)]))


def values_and_argument_forms(c: _Candidates) -> None:
    """One call with a wrong value, or its arguments in another form (positional, float, default...)."""
    gt, rng, classes, replace_call = c.gt, c.rng, c.classes, c.replace_call
    replace_call(
        "wrong_string_value", lambda x: mutate_value(x, (str,), lambda v: v + "_x" if v else "x", rng)
    )
    replace_call("wrong_number_value", lambda x: mutate_value(x, (int, float), lambda v: v + 1, rng))
    replace_call("flip_bool", lambda x: mutate_value(x, (bool,), lambda v: not v, rng))
    replace_call("case_changed_string", lambda x: mutate_value(x, (str,), lambda v: v.swapcase(), rng))
    replace_call("reverse_list_arg", reverse_list_arg, tries=0)
    converted = [[kw_to_positional(x, classes) or x for x in t] for t in gt]
    if converted != gt:
        c.add("keyword_to_positional", one_step(converted))
    converted = [[positional_to_kw(x, classes) or x for x in t] for t in gt]
    if converted != gt:
        c.add("positional_to_keyword", one_step(converted))
    replace_call("int_to_float", ints_to_floats, tries=0)
    replace_call("float_to_int", floats_to_ints, tries=0)
    replace_call("drop_default_kwarg", lambda x: drop_default_kwarg(x, classes), tries=0)
    replace_call("add_default_kwarg", lambda x: add_default_kwarg(x, classes), tries=0)
    replace_call("unknown_kwarg", add_unknown_kwarg)
    replace_call("positional_and_keyword_same_param", same_param_twice)
    replace_call("extra_positional_arg", lambda x: extra_positional(x, classes))
    replace_call("missing_required_arg", lambda x: drop_required(x, classes), tries=0)
    replace_call("number_as_string", lambda x: mutate_value(x, (int, float), str, rng), tries=0)


def turn_counts_and_empty_turns(c: _Candidates) -> None:
    """One turn fewer or more, no turns; an empty model turn where the ground truth has calls."""
    gt, rng, add, full = c.gt, c.rng, c.add, c.full
    add("one_turn_fewer", one_step(gt[:-1]))
    add("one_turn_more_empty", one_step(gt) + [[]])
    add("one_turn_more_calls", one_step(gt) + [[list(gt[full[-1]])]])
    if rng.random() < 0.25:
        add("no_turns", [])

    i = rng.choice(full)
    kind, shape = rng.choice(
        [("empty_model_turn", []), ("empty_model_turn_nested", [[]]), ("empty_model_turn_double", [[], [""]])]
    )
    add(kind, [shape if k == i else s for k, s in enumerate(one_step(gt))])

    if rng.random() < 0.25:  # a step of blank strings is not dropped (only [] and [""] are), so not "empty"
        i = rng.choice(full)
        add("blank_calls_turn", [[["", ""]] if k == i else s for k, s in enumerate(one_step(gt))])


def ask_turns(c: _Candidates) -> None:
    """Calls in turns where the ground truth is empty (the model should have asked), and a missed
    function's call made before the turn that brings its doc."""
    gt, rng, add, with_turns, classes = c.gt, c.rng, c.add, c.with_turns, c.classes
    for e in c.empty:
        later = [i for i in c.full if i > e]
        if later:
            nxt = later[0]
            add(
                "early_answer",
                one_step(with_turns(lambda t, e=e, nxt=nxt: (t[e].extend(t[nxt]), t[nxt].clear()))),
            )
            add("early_answer_and_repeat", one_step(with_turns(lambda t, e=e, nxt=nxt: t[e].extend(t[nxt]))))
            if len(gt[nxt]) >= 2:
                add(
                    "early_answer_partial",
                    one_step(
                        with_turns(
                            lambda t, e=e, nxt=nxt: (
                                t[e].extend(t[nxt][:-1]),
                                t.__setitem__(nxt, t[nxt][-1:]),
                            )
                        )
                    ),
                )
        add(
            "read_only_in_empty_turn",
            one_step(with_turns(lambda t, e=e: t[e].append(rng.choice(READ_ONLY[rng.choice(classes)])))),
        )
        add(
            "state_call_in_empty_turn",
            one_step(with_turns(lambda t, e=e: t[e].append(rng.choice(STATEFUL[rng.choice(classes)])))),
        )
    for turn_key, docs in (c.entry.get("missed_function") or {}).items():
        names = {d["name"] if isinstance(d, dict) else d for d in docs}
        k = int(turn_key)
        spots = [(i, j) for i in range(k, c.n) for j, x in enumerate(gt[i]) if parse(x).func.id in names]
        if spots and k >= 1:
            i, j = spots[0]
            add(
                "missed_func_early_moved",
                one_step(with_turns(lambda t, i=i, j=j, k=k: t[k - 1].append(t[i].pop(j)))),
            )
            add(
                "missed_func_early_copied",
                one_step(with_turns(lambda t, i=i, j=j, k=k: t[0].append(t[i][j]))),
            )


def read_only_extras(c: _Candidates) -> None:
    """Read-only calls added at various places, or a read-only ground-truth call doubled or dropped."""
    gt, rng, full = c.gt, c.rng, c.full
    ro = [x for cl in c.classes for x in READ_ONLY[cl]]
    c.insert("read_only_extra_first", rng.choice(ro), i=full[0], pos=0)
    c.insert("read_only_extra_middle", rng.choice(ro))
    c.insert("read_only_extra_last", rng.choice(ro), i=full[-1], pos=len(gt[full[-1]]))
    ro_gt = [(i, j) for i, j in c.calls if is_read_only_name(parse(gt[i][j]).func.id)]
    if ro_gt:
        i, j = rng.choice(ro_gt)
        c.add(
            "duplicate_read_only_gt_call", one_step(c.with_turns(lambda t, i=i, j=j: t[i].insert(j, t[i][j])))
        )
        c.add("read_only_gt_call_dropped", one_step(c.with_turns(lambda t, i=i, j=j: t[i].pop(j))))


def raising_and_unknown(c: _Candidates) -> None:
    """Calls that raise inside the API, or name no function of the entry's classes."""
    gt, rng, classes = c.gt, c.rng, c.classes
    c.insert("raising_call", rng.choice([x for cl in classes for x in RAISING[cl]]))
    c.insert(
        "unknown_function", rng.choice(["lookup_weather(city='Paris')", "get_time_zone()", "foo_bar(x=1)"])
    )
    i, j = rng.choice(c.calls)
    node = parse(gt[i][j])
    node.func.id += "_v2"
    c.add(
        "unknown_function_replaces_call",
        c.replaced(i, j, render(node)),
    )
    foreign = [x for x in FOREIGN if x not in classes]
    c.insert("foreign_class_call", FOREIGN[rng.choice(foreign)])


def file_system_and_math(c: _Candidates) -> None:
    """Class-specific edges: trailing or no-op ``cd`` calls, extra or wrong MathAPI calls."""
    gt, rng, full, classes = c.gt, c.rng, c.full, c.classes
    if "GorillaFileSystem" in classes:
        c.insert(
            "trailing_cd_last_turn",
            rng.choice(["cd(folder='..')", "cd(folder='/')"]),
            i=full[-1],
            pos=len(gt[full[-1]]),
        )
        if len(full) >= 2:
            i = rng.choice(full[:-1])
            c.insert("trailing_cd_mid_turn", "cd(folder='..')", i=i, pos=len(gt[i]))
        c.insert("cd_dot", "cd(folder='.')")
    if "MathAPI" in classes:
        c.insert(
            "math_extra",
            rng.choice(
                ["add(a=1, b=2)", "mean(numbers=[1.0, 2.0])", "round_number(number=2.5, decimal_places=0)"]
            ),
        )
        math_calls = [(i, j) for i, j in c.calls if method_of(parse(gt[i][j]).func.id, ["MathAPI"])]
        if math_calls:
            c.replace_call(
                "math_wrong_value",
                lambda x: mutate_value(x, (int, float), lambda v: v * 2 + 1, rng),
                spots=math_calls,
            )


def twitter_mentions_and_posts(c: _Candidates) -> None:
    """A ground-truth ``mention`` with other users or dropped; a ``post_tweet`` without tags or twice."""
    gt, add = c.gt, c.add
    mentions = [(i, j) for i, j in c.calls if parse(gt[i][j]).func.id == "mention"]
    for i, j in mentions:
        node = parse(gt[i][j])
        for k in node.keywords:
            if k.arg == "mentioned_usernames":
                k.value = ast.List([ast.Constant("@someone_else")])
        add(
            "twitter_mention_wrong_users",
            c.replaced(i, j, render(node)),
        )
        add("twitter_mention_dropped", one_step(c.with_turns(lambda t, i=i, j=j: t[i].pop(j))))
    posts = [(i, j) for i, j in c.calls if parse(gt[i][j]).func.id == "post_tweet"]
    for i, j in posts[:1]:
        node = parse(gt[i][j])
        node.keywords = [k for k in node.keywords if k.arg not in ("tags", "mentions")]
        add(
            "twitter_post_without_tags",
            c.replaced(i, j, render(node)),
        )
        add("twitter_post_twice", one_step(c.with_turns(lambda t, i=i, j=j: t[i].insert(j, t[i][j]))))


def twitter_shared_mentions(c: _Candidates) -> None:
    """Extra ``mention`` calls on tweets, where BFCL's post_tweet shares its default list."""
    if "TwitterAPI" not in c.classes:
        return
    gt = c.gt
    # post_tweet's default ``mentions=[]`` is ONE list, shared by every tweet posted without mentions (the
    # model's and the ground truth's alike), and mention() extends a tweet's list in place.
    config = c.entry["initial_config"].get("TwitterAPI", {})
    tweet_id = config.get("tweet_counter", TWITTER_DEFAULT_STATE["tweet_counter"])
    for i, j in c.calls:
        node = parse(gt[i][j])
        if node.func.id != "post_tweet":
            continue
        if not any(k.arg == "mentions" for k in node.keywords) and len(node.args) < 3:
            extra = f"mention(tweet_id={tweet_id}, mentioned_usernames=['@funrl_extra'])"
            turns = [list(t) for t in gt]
            turns[i].insert(j + 1, extra)
            c.add("twitter_extra_mention_default_list", one_step(turns))
            if i + 1 < c.n:  # after the ground truth's own post_tweet of that turn has run
                turns = [list(t) for t in gt]
                turns[i + 1].insert(0, extra)
                c.add("twitter_extra_mention_default_list_next_turn", one_step(turns))
            break
        tweet_id += 1
    if config.get("tweets"):
        first = min(int(k) for k in config["tweets"])
        c.insert(
            "twitter_extra_mention_existing",
            f"mention(tweet_id={first}, mentioned_usernames=['@funrl_extra'])",
        )


# In this order: each group draws from the entry's one random stream.
GROUPS = [
    gold_variants,
    missing_and_extra,
    order_changes,
    values_and_argument_forms,
    turn_counts_and_empty_turns,
    ask_turns,
    read_only_extras,
    raising_and_unknown,
    file_system_and_math,
    twitter_mentions_and_posts,
    twitter_shared_mentions,
]


def candidates(entry: dict, gt: list) -> list:
    """The (kind, model_turns) candidates of one entry, in a fixed order."""
    c = _Candidates(entry, gt)
    for group in GROUPS:
        group(c)
    return c.out


# ------------------------------------------------------------------------- nested calls (nested.jsonl.gz)
def _kw_call(name: str, **kwargs) -> ast.Call:
    return ast.Call(
        func=ast.Name(name, ast.Load()),
        args=[],
        keywords=[
            ast.keyword(k, v if isinstance(v, ast.AST) else ast.Constant(v)) for k, v in kwargs.items()
        ],
    )


def nested_candidates(entry: dict, gt: list) -> list:
    """Calls inside arguments, in BFCL's decoded form (a nested call with keyword arguments, as BFCL's
    decoder writes it back): builtins around ground-truth values, one ground-truth call inside the next
    one's arguments or an extra argument, an unknown name after a nested call. One random stream per
    entry (``SEED``, ``nested`` and the entry id), separate from :func:`candidates`."""
    c = _Candidates(entry, gt)
    c.rng = random.Random(f"{SEED}:nested:{entry['id']}")
    rng = c.rng
    c.replace_call(
        "nested_str_value", lambda call: replace_value(call, (str,), lambda v: _kw_call("str", object=v), rng)
    )
    c.replace_call(
        "nested_round_value",
        lambda call: replace_value(
            call, (float,), lambda v: _kw_call("round", number=v, ndigits=rng.choice([0, 1, 6])), rng
        ),
    )
    c.replace_call(
        "nested_int_value", lambda call: replace_value(call, (int,), lambda v: _kw_call("abs", x=v), rng)
    )

    def merged(kind: str, i: int, j: int, n: int, call: ast.Call) -> None:
        """The n calls of turn i from j on replaced by ``call``."""
        turns = [list(t) for t in gt]
        turns[i][j : j + n] = [render(call)]
        c.add(kind, one_step(turns))

    pairs = [(i, j) for i in c.full for j in range(len(gt[i]) - 1)]
    if pairs:
        i, j = rng.choice(pairs)
        first, second = parse(gt[i][j]), parse(gt[i][j + 1])
        # the first call as an extra argument of the second: it runs, the second then fails (or not)
        extra = parse(gt[i][j + 1])
        extra.keywords.append(ast.keyword("context", first))
        merged("nested_gt_call_extra_arg", i, j, 2, extra)
        # the first call as the value of the second's first argument
        spots = constants(second, (str, int, float, bool, list))
        if spots:
            put_arg(second, rng.choice(spots), first)
            merged("nested_gt_call_as_value", i, j, 2, second)
        # a nested ground-truth call, then a name that is not defined
        bad = parse(gt[i][j + 1])
        bad.keywords.append(ast.keyword("context", parse(gt[i][j])))
        bad.keywords.append(ast.keyword("more", _kw_call("not_a_function", x=1)))
        merged("nested_gt_call_then_unknown", i, j, 2, bad)
    if c.full:
        i = rng.choice(c.full)
        call = parse(gt[i][0])
        call.keywords.append(ast.keyword("options", _kw_call("dict", a=1, b="x")))
        merged("nested_dict_extra_arg", i, 0, 1, call)
    return c.out
