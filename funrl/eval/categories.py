"""BFCL's category names and groups (bfcl-eval 2026.3.23, BFCL v4), and what ``--categories`` accepts.

The names are BFCL's (``bfcl_eval.constants.category_mapping``; a test checks they still agree with the
installed package). FunRL runs the single-turn and multi-turn categories; the agentic ones (memory,
web search) and format sensitivity are not run, and every summary that needs them says so.
"""

from __future__ import annotations

BFCL_VERSION = "bfcl-eval 2026.3.23 (BFCL v4)"

NON_LIVE_AST = (
    "simple_python",
    "simple_java",
    "simple_javascript",
    "multiple",
    "parallel",
    "parallel_multiple",
)
NON_LIVE = (*NON_LIVE_AST, "irrelevance")
LIVE_AST = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
LIVE = (*LIVE_AST, "live_irrelevance", "live_relevance")
SINGLE_TURN = NON_LIVE + LIVE
MULTI_TURN = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")
MEMORY = ("memory_kv", "memory_vector", "memory_rec_sum")
WEB_SEARCH = ("web_search_base", "web_search_no_snippet")
AGENTIC = MEMORY + WEB_SEARCH
NOT_RUN = (*AGENTIC, "format_sensitivity")  # BFCL categories funrl.eval does not run

RELEVANCE = ("irrelevance", "live_irrelevance", "live_relevance")  # scored on "a call or none", no answer
AST_CATEGORIES = tuple(c for c in SINGLE_TURN if c not in RELEVANCE)  # scored by funrl.reward's checker
RUNNABLE = SINGLE_TURN + MULTI_TURN

LANGUAGE = {"simple_java": "java", "simple_javascript": "javascript"}  # every other category: python

# BFCL's collection names (its TEST_COLLECTION_MAPPING), plus "all" = everything FunRL runs.
GROUPS: dict[str, tuple[str, ...]] = {
    "all": RUNNABLE,
    "all_scoring": RUNNABLE,
    "single_turn": SINGLE_TURN,
    "multi_turn": MULTI_TURN,
    "non_live": NON_LIVE,
    "live": LIVE,
    "non_python": ("simple_java", "simple_javascript"),
    "python": tuple(c for c in SINGLE_TURN if c not in ("simple_java", "simple_javascript")),
}
UNSUPPORTED_GROUPS = {"memory": MEMORY, "web_search": WEB_SEARCH, "agentic": AGENTIC}


def language_of(category: str) -> str:
    """The programming language BFCL scores a category's calls in: python, java or javascript."""
    return LANGUAGE.get(category, "python")


def expand_categories(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """BFCL category and group names -> the categories, each once, in BFCL's order. ValueError naming
    ``--categories`` for an unknown name or one FunRL does not run (agentic, format sensitivity)."""
    if not names:
        raise ValueError("--categories: give at least one category or group name")
    chosen: set[str] = set()
    for name in names:
        if name in GROUPS:
            chosen.update(GROUPS[name])
        elif name in RUNNABLE:
            chosen.add(name)
        elif name in UNSUPPORTED_GROUPS or name in NOT_RUN:
            raise ValueError(
                f"--categories: {name!r} is a BFCL agentic / format-sensitivity category, which funrl.eval "
                "does not run (run BFCL's own `bfcl generate` for it)"
            )
        else:
            known = ", ".join([*GROUPS, *RUNNABLE])
            raise ValueError(f"--categories: unknown category or group {name!r} (known: {known})")
    return tuple(c for c in RUNNABLE if c in chosen)
