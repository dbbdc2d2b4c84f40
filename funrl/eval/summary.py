"""BFCL's summary columns, computed by the formulas of bfcl-eval's score CSVs (2026.3.23, BFCL v4).

BFCL's ``eval_runner_helper.generate_leaderboard_csv``, reimplemented (it imports pandas, numpy and every
model SDK) and checked against the official function's own numbers (``tests/eval/test_summary.py``):

- a category not run counts as accuracy 0 with its whole dataset as count; a summary column that needs
  it is shown "N/A", except the "Overall Acc" columns, which BFCL shows as computed (with the zeros);
- **Non-Live**: Simple AST = unweighted mean of simple_python, simple_java, simple_javascript; AST Summary
  = Non-Live Overall Acc = unweighted mean of Simple, Multiple, Parallel, Parallel Multiple;
- **Live**: AST Summary = Live Overall Acc = the four live AST categories weighted by entry count;
- **Multi-Turn**: unweighted mean of base, miss_func, miss_param, long_context;
- **Agentic**: unweighted mean of the web-search and memory summaries (never run by funrl.eval);
- **Hallucination measurement**: Irrelevance Detection = unweighted mean of irrelevance and
  live_irrelevance; Relevance Detection = live_relevance;
- **Overall Acc** = non-live 10, live 10, irrelevance 10, multi-turn 30, agentic 40 (normalised weights).
  Format sensitivity is not scored by BFCL.

Every column is ``{"accuracy", "total", "not_run"}``: ``not_run`` lists the categories it needed and did
not get (their zeros are in ``accuracy``, as in BFCL's arithmetic); ``display`` says what to print.
Besides BFCL's columns, ``papers`` holds the mean of the Non-Live and Live AST summaries, the figure the
FunRL, FunReason and Tool-N1 papers call "Overall" -- labelled as that, never as BFCL's overall.
"""

from __future__ import annotations

from .categories import AGENTIC, BFCL_VERSION, LIVE_AST, MEMORY, MULTI_TURN, WEB_SEARCH

OVERALL_WEIGHTS = {"non_live": 10, "live": 10, "irrelevance": 10, "multi_turn": 30, "agentic": 40}
PAPERS_LABEL = "Mean of Non-Live AST and Live AST summaries (the papers' 'Overall'; not BFCL's Overall Acc)"


def _col(accuracy: float, total: int, not_run: list[str]) -> dict:
    return {"accuracy": accuracy, "total": total, "not_run": sorted(set(not_run))}


def _unweighted(cols: list[dict]) -> dict:
    return _col(
        sum(c["accuracy"] for c in cols) / len(cols),
        sum(c["total"] for c in cols),
        [n for c in cols for n in c["not_run"]],
    )


def _weighted(cols: list[dict]) -> dict:
    total = sum(c["total"] for c in cols)
    accuracy = sum(c["accuracy"] * c["total"] for c in cols) / total if total else 0.0
    return _col(accuracy, total, [n for c in cols for n in c["not_run"]])


def _percentage_weighted(cols: list[dict], weights: list[float]) -> dict:
    norm = [w / sum(weights) for w in weights]
    return _col(
        sum(c["accuracy"] * w for c, w in zip(cols, norm)),
        sum(c["total"] for c in cols),
        [n for c in cols for n in c["not_run"]],
    )


def _display(col: dict, shown_when_partial: bool) -> dict:
    """Add ``display``: the percentage, "n/a (not run)" where BFCL prints N/A, or the percentage marked
    partial where BFCL prints a number computed with the zeros of the missing categories."""
    if not col["not_run"]:
        col["display"] = f"{100 * col['accuracy']:.2f}"
    elif shown_when_partial:
        col["display"] = f"{100 * col['accuracy']:.2f} (partial: categories not run count as 0, as in BFCL)"
    else:
        col["display"] = "n/a (not run)"
    return col


def _aggregates(cat) -> dict[str, dict]:
    """BFCL's aggregate columns from ``cat(name)`` (a category's column)."""
    simple = _unweighted([cat("simple_python"), cat("simple_java"), cat("simple_javascript")])
    non_live_ast = _unweighted([simple, cat("multiple"), cat("parallel"), cat("parallel_multiple")])
    live_ast = _weighted([cat(c) for c in LIVE_AST])
    multi_turn = _unweighted([cat(c) for c in MULTI_TURN])
    web_search = _unweighted([cat(c) for c in WEB_SEARCH])
    memory = _unweighted([cat(c) for c in MEMORY])
    agentic = _unweighted([web_search, memory])
    irrelevance = _unweighted([cat("irrelevance"), cat("live_irrelevance")])
    overall = _percentage_weighted(
        [non_live_ast, live_ast, irrelevance, multi_turn, agentic], list(OVERALL_WEIGHTS.values())
    )
    papers = _col(
        (non_live_ast["accuracy"] + live_ast["accuracy"]) / 2,
        non_live_ast["total"] + live_ast["total"],
        non_live_ast["not_run"] + live_ast["not_run"],
    )
    return {
        "simple": simple,
        "non_live_ast": non_live_ast,
        "live_ast": live_ast,
        "multi_turn": multi_turn,
        "web_search": web_search,
        "memory": memory,
        "agentic": agentic,
        "irrelevance": irrelevance,
        "overall": overall,
        "papers": papers,
    }


def bfcl_summary(per_category: dict[str, dict], sizes: dict[str, int]) -> dict:
    """``per_category``: ``{category: {"correct", "total"}}`` for the categories run; ``sizes``: the
    number of entries of every category's dataset (used for the ones not run, as BFCL does)."""

    def cat(name: str) -> dict:
        if name in per_category and per_category[name]["total"]:
            stats = per_category[name]
            return _col(stats["correct"] / stats["total"], stats["total"], [])
        return _col(0.0, sizes.get(name, 0), [name])

    a = _aggregates(cat)
    simple, non_live_ast, live_ast, multi_turn = (
        a["simple"],
        a["non_live_ast"],
        a["live_ast"],
        a["multi_turn"],
    )
    web_search, memory, agentic, irrelevance = a["web_search"], a["memory"], a["agentic"], a["irrelevance"]
    overall, papers = a["overall"], a["papers"]

    def shown(col: dict) -> dict:
        return _display(dict(col), shown_when_partial=True)

    def na(col: dict) -> dict:
        return _display(dict(col), shown_when_partial=False)

    return {
        "version": BFCL_VERSION,
        "non_live": {
            "Non-Live Overall Acc": shown(non_live_ast),
            "AST Summary": na(non_live_ast),
            "Simple AST": na(simple),
            "Python Simple AST": na(cat("simple_python")),
            "Java Simple AST": na(cat("simple_java")),
            "JavaScript Simple AST": na(cat("simple_javascript")),
            "Multiple AST": na(cat("multiple")),
            "Parallel AST": na(cat("parallel")),
            "Parallel Multiple AST": na(cat("parallel_multiple")),
            "Irrelevance Detection": na(cat("irrelevance")),
        },
        "live": {
            "Live Overall Acc": shown(live_ast),
            "AST Summary": na(live_ast),
            "Python Simple AST": na(cat("live_simple")),
            "Python Multiple AST": na(cat("live_multiple")),
            "Python Parallel AST": na(cat("live_parallel")),
            "Python Parallel Multiple AST": na(cat("live_parallel_multiple")),
            "Irrelevance Detection": na(cat("live_irrelevance")),
            "Relevance Detection": na(cat("live_relevance")),
        },
        "multi_turn": {
            "Multi Turn Overall Acc": shown(multi_turn),
            "Base": na(cat("multi_turn_base")),
            "Miss Func": na(cat("multi_turn_miss_func")),
            "Miss Param": na(cat("multi_turn_miss_param")),
            "Long Context": na(cat("multi_turn_long_context")),
        },
        "agentic": {
            "Agentic Overall Acc": shown(agentic),
            "Web Search Summary": na(web_search),
            "Memory Summary": na(memory),
            "note": f"not run by funrl.eval ({', '.join(AGENTIC)}): BFCL's own `bfcl generate` runs them",
        },
        "hallucination": {
            "Relevance Detection": na(cat("live_relevance")),
            "Irrelevance Detection": na(irrelevance),
        },
        "overall": {
            "Overall Acc": shown(overall),
            "weights": dict(OVERALL_WEIGHTS),
            "format_sensitivity": "not run (BFCL does not score it either)",
        },
        "papers": {"label": PAPERS_LABEL, "Mean of Non-Live AST and Live": na(papers)},
    }


def summary_rows(summary: dict) -> list[tuple[str, str, str]]:
    """``(group, column, display)`` for every column, in BFCL's order (for the markdown report)."""
    rows = []
    for group in ("overall", "non_live", "live", "multi_turn", "hallucination", "agentic", "papers"):
        for name, col in summary[group].items():
            if isinstance(col, dict) and "display" in col:
                rows.append((group, name, col["display"]))
    return rows
