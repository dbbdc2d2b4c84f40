"""Java and JavaScript call text, decoded as BFCL's prompting handlers decode it.

BFCL's ``default_decode_ast_prompting`` with ``ReturnFormat.JAVA`` / ``JAVASCRIPT``: the text is
stripped of backticks, newlines and spaces, ``[`` / ``]`` are added where missing, the outer two
characters are then cut off and the rest is read by the language's parser (:mod:`.java_call`,
:mod:`.js_call`); a result that is not ``[{name: {param: value}}]`` is BFCL's wrong output format.
The values are *source text* (strings): :mod:`.java_js` converts them when the call is checked.
"""

from __future__ import annotations

from .java_call import parse_java_calls
from .js_call import parse_js_calls
from .pycall import FormatError, bfcl_prompting_preprocess
from .srclex import SourceError

_PARSERS = {"java": parse_java_calls, "javascript": parse_js_calls}


def decode_source(text: str, language: str) -> list:
    """``[{name: {param: source text}}]`` from Java/JS call text. Raises FormatError."""
    inner = bfcl_prompting_preprocess(text)[1:-1]
    try:
        calls = _PARSERS[language](inner)
    except (SourceError, RecursionError) as e:
        raise FormatError(
            "format_error:decoder_failed", f"Invalid {language} syntax. Failed to decode AST. {e}"
        ) from None
    if type(calls) is not list:
        raise FormatError("format_error:wrong_output_format", f"no {language} function call found")
    return calls
