"""``--categories``: FunRL's names and groups are BFCL's (checked against the installed bfcl-eval's own
constants), groups expand in BFCL's order, and names FunRL does not run are refused by name."""

from __future__ import annotations

import pytest

from funrl.eval.categories import (
    AGENTIC,
    GROUPS,
    LIVE,
    MULTI_TURN,
    NON_LIVE,
    RUNNABLE,
    SINGLE_TURN,
    UNSUPPORTED_GROUPS,
    expand_categories,
    language_of,
)


def test_names_and_groups_are_bfcls():
    mapping = pytest.importorskip("bfcl_eval.constants.category_mapping")
    assert list(NON_LIVE) == mapping.NON_LIVE_CATEGORY
    assert list(LIVE) == mapping.LIVE_CATEGORY
    assert list(SINGLE_TURN) == mapping.SINGLE_TURN_CATEGORY
    assert list(MULTI_TURN) == mapping.MULTI_TURN_CATEGORY
    assert sorted(AGENTIC) == sorted(mapping.AGENTIC_CATEGORY)
    collections = mapping.TEST_COLLECTION_MAPPING
    for name, categories in GROUPS.items():
        if name not in ("all", "all_scoring"):  # BFCL's include the agentic categories FunRL does not run
            assert sorted(categories) == sorted(collections[name]), name
    assert set(GROUPS) | set(UNSUPPORTED_GROUPS) == set(collections)
    assert set(collections["all_scoring"]) - set(RUNNABLE) == set(AGENTIC)


def test_expand():
    assert expand_categories(["live", "simple_java", "live_simple"]) == ("simple_java", *LIVE)
    assert expand_categories(["all"]) == SINGLE_TURN + MULTI_TURN
    assert expand_categories(["non_python"]) == ("simple_java", "simple_javascript")
    assert [language_of(c) for c in ("simple_java", "simple_javascript", "live_simple")] == [
        "java",
        "javascript",
        "python",
    ]
    with pytest.raises(ValueError, match="'web_search' is a BFCL agentic"):
        expand_categories(["web_search"])
    with pytest.raises(ValueError, match="'format_sensitivity' is a BFCL agentic / format-sensitivity"):
        expand_categories(["format_sensitivity"])
    with pytest.raises(ValueError, match="unknown category or group 'simple'"):
        expand_categories(["simple"])
    with pytest.raises(ValueError, match="at least one"):
        expand_categories([])
