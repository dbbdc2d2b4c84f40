"""One BFCL environment per trajectory: fresh instances, the tools visible at each turn, calls executed
safely, outputs capped.

    env = BfclEnv(entry)                       # entry from load_entries(...)
    for k in range(env.num_turns):
        env.start_turn(k)                      # or just call execute(); turns advance with start_turn
        tools = env.tools()                    # BFCL's function docs visible at this turn
        outputs = env.execute(["cd(folder='document')", "ls()"])
    check_multi_turn(entry, env.trajectory)    # BFCL's verdict on what was executed

Each environment has its own :class:`~.backend.ProcessState`, so trajectories of the same entry never
share anything, run one after the other or interleaved, and each behaves as in a fresh BFCL process.
"""

from __future__ import annotations

import copy
from typing import Any

from . import backend
from .data import is_long_context, missed_functions, validate_entry
from .runtime import ERROR_PREFIX, InstanceSet

#: Characters of one call's output returned to the caller (the rest is cut, with a note).
MAX_OUTPUT_CHARS = 100_000
#: Characters of all outputs of one turn returned to the caller.
MAX_TURN_OUTPUT_CHARS = 400_000
#: Calls executed per step / per turn / per trajectory; calls past a limit are not executed.
MAX_CALLS_PER_STEP = 64
MAX_CALLS_PER_TURN = 256
MAX_CALLS_PER_TRAJECTORY = 1024


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[output truncated: {len(text) - limit} more characters]"


class BfclEnv:
    """The executable environment of one BFCL multi-turn entry for one trajectory.

    ``strict``: refuse a miss_func function before the turn that reveals it (BFCL executes it).
    ``mangle``: apply BFCL's method-name prefixing to string arguments (BFCL's executor does; off by
    default here, since it only exists as a side effect of BFCL's eval).
    """

    def __init__(
        self,
        entry: dict,
        *,
        strict: bool = False,
        mangle: bool = False,
        max_output_chars: int = MAX_OUTPUT_CHARS,
        max_turn_output_chars: int = MAX_TURN_OUTPUT_CHARS,
    ) -> None:
        validate_entry(entry)
        self.entry = entry
        self.strict = strict
        self.max_output_chars = max_output_chars
        self.max_turn_output_chars = max_turn_output_chars
        self.num_turns = len(entry["ground_truth"])
        self._missed = missed_functions(entry)
        self._instances = InstanceSet(
            entry["id"],
            entry["involved_classes"],
            entry.get("initial_config", {}),
            long_context=is_long_context(entry["id"]),
            process=backend.ProcessState(),
            mangle_as="funrl_eval" if mangle else None,
        )
        self.turn = 0
        #: what was executed, turns -> steps -> call strings (the checker's input)
        self.trajectory: list[list[list[str]]] = [[]]
        self._turn_calls = 0
        self._turn_chars = 0
        self._closed = False

    # -- tools ---------------------------------------------------------------------------------------
    def hidden_functions(self, turn: int | None = None) -> set[str]:
        """Names of miss_func functions not yet revealed at ``turn`` (default: the current turn)."""
        k = self.turn if turn is None else turn
        return {name for t, names in self._missed.items() if t > k for name in names}

    def tools(self, turn: int | None = None) -> list[dict]:
        """BFCL's function docs visible at ``turn`` (default: current): every function of the involved
        classes, without miss_func functions held out until a later turn. Revealed functions come last,
        in the order BFCL appends them."""
        k = self.turn if turn is None else turn
        hidden = self.hidden_functions(k)
        revealed = [n for t in sorted(self._missed) if t <= k for n in self._missed[t]]
        docs = [
            d
            for c in self.entry["involved_classes"]
            for d in backend.function_docs(c)
            if d["name"] not in hidden and d["name"] not in revealed
        ]
        by_name = {d["name"]: d for c in self.entry["involved_classes"] for d in backend.function_docs(c)}
        return copy.deepcopy(docs + [by_name[n] for n in revealed if n in by_name])

    def new_tools(self, turn: int | None = None) -> list[dict]:
        """The function docs revealed exactly at ``turn`` (miss_func), else []."""
        k = self.turn if turn is None else turn
        by_name = {d["name"]: d for c in self.entry["involved_classes"] for d in backend.function_docs(c)}
        return copy.deepcopy([by_name[n] for n in self._missed.get(k, []) if n in by_name])

    def question(self, turn: int | None = None) -> list[dict]:
        """The user messages of ``turn`` (default: current); [] for a miss_func reveal turn."""
        k = self.turn if turn is None else turn
        return copy.deepcopy(self.entry.get("question", [[]] * self.num_turns)[k])

    # -- execution -----------------------------------------------------------------------------------
    def start_turn(self, turn: int | None = None) -> None:
        """Move to the next turn (or to ``turn``, which may not go back). The state carries over."""
        k = self.turn + 1 if turn is None else turn
        if k < self.turn or k >= self.num_turns:
            raise ValueError(f"turn {k} is out of range (current {self.turn}, {self.num_turns} turns)")
        while self.turn < k:
            self.turn += 1
            self.trajectory.append([])
        self._turn_calls = 0
        self._turn_chars = 0

    def execute(self, calls: list[str]) -> list[str]:
        """Execute one step (a list of call strings) in the current turn; one output string per call.

        Never raises for bad calls: an unparsable, refused, unknown or failing call gives BFCL's
        ``Error during execution: ...`` text (or funrl's reason where BFCL would run code). Outputs are
        capped per call and per turn; calls past the per-step/turn/trajectory limits are not run.
        """
        if self._closed:
            raise RuntimeError("environment is closed")
        if not isinstance(calls, list):
            calls = [calls]
        allowed = None
        if self.strict:
            hidden = self.hidden_functions()
            allowed = lambda name: name not in hidden  # noqa: E731
        outputs, executed = [], []
        for i, call in enumerate(calls):
            if (
                i >= MAX_CALLS_PER_STEP
                or self._turn_calls >= MAX_CALLS_PER_TURN
                or self._instances.calls >= MAX_CALLS_PER_TRAJECTORY
            ):
                outputs.append(
                    f"{ERROR_PREFIX}call limit reached (per step {MAX_CALLS_PER_STEP}, per turn "
                    f"{MAX_CALLS_PER_TURN}, per trajectory {MAX_CALLS_PER_TRAJECTORY}); not executed"
                )
                continue
            self._turn_calls += 1
            executed.append(call if isinstance(call, str) else repr(call))
            out = _cap(self._instances.execute_one(call, allowed), self.max_output_chars)
            room = self.max_turn_output_chars - self._turn_chars
            if len(out) > room:
                out = _cap(out, max(room, 0))
            self._turn_chars += len(out)
            outputs.append(out)
        if executed:
            self.trajectory[-1].append(executed)
        return outputs

    def state(self) -> dict[str, dict[str, Any]]:
        """A deep copy of every instance's public attributes (what BFCL's state check compares)."""
        return {c: copy.deepcopy(backend.public_state(i)) for c, i in self._instances.instances.items()}

    def close(self) -> None:
        """Drop the instances. The environment cannot execute afterwards."""
        self._instances.instances.clear()
        self._instances.methods.clear()
        self._closed = True

    def __enter__(self) -> BfclEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
