"""BFCL's multi-turn verdict, mirrored function by function, without ``eval``.

What BFCL's ``eval_runner._evaluate_single_multi_turn_entry`` and ``multi_turn_checker`` do, in order:

1. model result not a list -> ``multi_turn:inference_error``; turn count differs from the ground truth's ->
   ``multi_turn:force_terminated``;
2. empty steps (``[]`` or ``[""]``, BFCL's ``is_empty_execute_response``) are dropped;
3. per turn: the model's steps run on the model's instances, then the ground truth's calls on separate
   ground-truth instances (both persist across turns); a turn whose ground truth has calls but whose
   model response is empty -> ``multi_turn:empty_turn_model_response``; a turn whose ground truth is empty
   is not checked (its calls still run); otherwise the state check (public attributes of every
   ground-truth instance equal the model's, ``!=`` semantics: ``30 == 30.0``) ->
   ``multi_turn:instance_state_mismatch``, then the response check (every ground-truth result of the turn
   appears among the model's results of all turns so far, as a multiset) ->
   ``multi_turn:execution_response_mismatch``. The first failing turn decides.

Fresh-process semantics: every evaluation gets its own :class:`~.backend.ProcessState`, shared by its
model and ground-truth instances as one BFCL process would share them. The ground truth's execution is
computed once per entry and reused only for entries whose instances cannot share objects (no class with
mutable default arguments, no long-context TravelAPI); the others run the ground truth live, interleaved
with the model turn by turn, exactly as BFCL.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from . import backend
from .data import is_long_context, missed_functions, validate_entry
from .runtime import InstanceSet

INFERENCE_ERROR = "multi_turn:inference_error"
FORCE_TERMINATED = "multi_turn:force_terminated"
EMPTY_TURN = "multi_turn:empty_turn_model_response"
STATE_MISMATCH = "multi_turn:instance_state_mismatch"
RESPONSE_MISMATCH = "multi_turn:execution_response_mismatch"
_MISSING = object()


@dataclass
class Result:
    """A verdict: ``valid``, BFCL's ``error_type`` (None when valid), ``error_message``, ``details``.
    ``float(result)`` is the binary reward. ``details`` may share objects with the checker's cache of
    ground-truth executions (states, results): read it, or copy it before changing it."""

    valid: bool
    error_type: str | None = None
    error_message: str | None = None
    details: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.valid

    def __float__(self) -> float:
        return 1.0 if self.valid else 0.0


@dataclass
class TurnVerdict:
    """One turn's check: ``passed`` is what BFCL would conclude for this turn given the turns before
    (a turn whose ground truth is empty passes: BFCL does not check it)."""

    turn: int
    passed: bool
    error_type: str | None = None
    error_message: str | None = None
    details: dict = field(default_factory=dict)


def is_empty_execute_response(input_list: list) -> bool:
    """BFCL's test: ``[]`` or a list holding one empty item."""
    return len(input_list) == 0 or (len(input_list) == 1 and len(input_list[0]) == 0)


def drop_empty_steps(model_turns: list) -> list[list[list[str]]]:
    """eval_runner's decoding step: empty steps are dropped. Raises ValueError for a malformed shape."""
    turns = []
    for i, turn in enumerate(model_turns):
        if not isinstance(turn, list):
            raise ValueError(f"model_turns[{i}] must be a list of steps")
        steps = []
        for j, step in enumerate(turn):
            if not isinstance(step, list):
                raise ValueError(f"model_turns[{i}][{j}] must be a list of call strings")
            if not is_empty_execute_response(step):
                steps.append(step)
        turns.append(steps)
    return turns


def is_subsequence_unordered(list1: list, list2: list) -> tuple[bool, list]:
    """BFCL's ``_is_subsequence_unordered``: every item of list1 in list2, duplicates counted."""
    rest = list2[:]
    missing = []
    for item in list1:
        try:
            rest.remove(item)
        except ValueError:
            missing.append(item)
    return not missing, missing


def compare_state(model_instance: Any, ground_truth_state: dict[str, Any]) -> dict:
    """BFCL's ``_compare_instances``: the ground truth's public attributes that the model's differ on."""
    differences = {}
    for attr, gt_value in ground_truth_state.items():
        model_value = getattr(model_instance, attr, _MISSING)
        try:
            differs = model_value is _MISSING or model_value != gt_value
        except RecursionError:  # BFCL would crash; a state too deep to compare is not equal
            differs = True
        if differs:
            differences[attr] = {
                "model": None if model_value is _MISSING else model_value,
                "ground_truth": gt_value,
            }
    return differences


@dataclass
class _Trace:
    """The ground truth's execution of one entry: per turn, its results and a copy of its state."""

    config: Any
    results: list[list[str]]
    states: list[dict[str, dict[str, Any]]]


class Checker:
    """BFCL's multi-turn checker with options and a ground-truth cache.

    ``mangle`` (default True, as BFCL): string arguments get BFCL's method-name prefixing, with
    ``model_name`` in the prefix. ``strict`` (default False, as BFCL): a model call to a miss_func
    function before the turn that reveals it is refused instead of executed (an RL option; verdicts then
    may differ from BFCL's). ``cache_size``: entries whose ground-truth execution is kept (0: none).
    """

    def __init__(
        self, *, mangle: bool = True, strict: bool = False, model_name: str = "funrl", cache_size: int = 2048
    ) -> None:
        self.mangle = mangle
        self.strict = strict
        self.model_name = model_name
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, _Trace] = OrderedDict()

    def check(self, entry: dict, model_turns: Any) -> Result:
        """The verdict of BFCL's eval_runner + multi_turn_checker on one decoded model result."""
        validate_entry(entry)
        ground_truth = entry["ground_truth"]
        if not isinstance(model_turns, list):
            return Result(
                False,
                INFERENCE_ERROR,
                "Error during inference phase. Model did not output a list of model responses.",
            )
        if len(model_turns) != len(ground_truth):
            return Result(
                False,
                FORCE_TERMINATED,
                "Model was force-terminated during inference phase. The length of the model result turns "
                f"({len(model_turns)}) does not match the length of the ground truth turns ({len(ground_truth)}).",
            )
        turns = drop_empty_steps(model_turns)
        evaluation = _Evaluation(self, entry)
        for k, steps in enumerate(turns):
            verdict = evaluation.turn(k, steps, full_details=True)
            if not verdict.passed:
                return Result(False, verdict.error_type, verdict.error_message, verdict.details)
        return Result(True)

    def check_turns(self, entry: dict, model_turns: list) -> list[TurnVerdict]:
        """Per-turn verdicts for the turns given so far (a prefix of the trajectory is fine; turns past
        the ground truth's are not scored). Every turn is checked, also after a failing one; the
        trajectory passes BFCL's check iff it has every turn and all pass."""
        validate_entry(entry)
        if not isinstance(model_turns, list):
            raise ValueError("model_turns must be a list of turns")
        turns = drop_empty_steps(model_turns)[: len(entry["ground_truth"])]
        evaluation = _Evaluation(self, entry)
        return [evaluation.turn(k, steps, full_details=False) for k, steps in enumerate(turns)]

    def trace(self, entry: dict, long_context: bool) -> _Trace:
        """The ground truth's execution of an entry, cached."""
        key = (
            entry["id"],
            long_context,
            tuple(entry["involved_classes"]),
            tuple(tuple(t) for t in entry["ground_truth"]),
        )
        cached = self._cache.get(key)
        if cached is not None and cached.config is entry.get("initial_config"):
            self._cache.move_to_end(key)
            return cached
        process = backend.ProcessState()
        instances = InstanceSet(
            entry["id"],
            entry["involved_classes"],
            entry.get("initial_config", {}),
            long_context=long_context,
            process=process,
            mangle_as=f"{self.model_name}_ground_truth_eval" if self.mangle else None,
        )
        results, states = [], []
        for calls in entry["ground_truth"]:
            results.append(instances.execute(calls))
            states.append({c: copy.deepcopy(backend.public_state(i)) for c, i in instances.instances.items()})
        trace = _Trace(entry.get("initial_config"), results, states)
        if self.cache_size and not process.shared_used:
            self._cache[key] = trace
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return trace


def shares_process_objects(involved_classes: list[str], long_context: bool) -> bool:
    """Whether the model's and the ground truth's instances can share objects in BFCL (so the ground
    truth's execution may depend on the model's): a class with mutable default arguments, or a
    long-context TravelAPI."""
    if long_context and "TravelAPI" in involved_classes:
        return True
    return any(spec.mutable_defaults for c in involved_classes for spec in backend.method_specs(c).values())


class _Evaluation:
    """One evaluation (one BFCL process): the model's instances and the ground truth's, turn by turn."""

    def __init__(self, checker: Checker, entry: dict) -> None:
        self.entry = entry
        self.ground_truth = entry["ground_truth"]
        long_context = is_long_context(entry["id"])
        classes = entry["involved_classes"]
        process = backend.ProcessState()
        mangle = checker.mangle
        self.model = InstanceSet(
            entry["id"],
            classes,
            entry.get("initial_config", {}),
            long_context=long_context,
            process=process,
            mangle_as=f"{checker.model_name}_eval" if mangle else None,
        )
        self.live = None
        self.trace = None
        if shares_process_objects(classes, long_context):
            self.live = InstanceSet(
                entry["id"],
                classes,
                entry.get("initial_config", {}),
                long_context=long_context,
                process=process,
                mangle_as=f"{checker.model_name}_ground_truth_eval" if mangle else None,
            )
        else:
            self.trace = checker.trace(entry, long_context)
        self.hidden = _hidden_by_turn(entry) if checker.strict else None
        self.all_model_results: list[str] = []
        self.execution_results: list[dict] = []

    def _ground_truth_turn(self, k: int) -> tuple[list[str], dict[str, dict[str, Any]]]:
        if self.live is not None:
            results = self.live.execute(self.ground_truth[k])
            return results, {c: backend.public_state(i) for c, i in self.live.instances.items()}
        return self.trace.results[k], self.trace.states[k]

    def turn(self, k: int, steps: list[list[str]], full_details: bool) -> TurnVerdict:
        """Run turn k (model steps, then the ground truth) and check it as BFCL does."""
        allowed = None
        if self.hidden is not None:
            hidden = self.hidden(k)
            allowed = lambda name: name not in hidden  # noqa: E731
        turn_results: list[str] = []
        uncombined = []
        for step in steps:
            step_results = self.model.execute(step, allowed)
            turn_results.extend(step_results)
            uncombined.append(step_results)
        gt_results, gt_states = self._ground_truth_turn(k)
        self.all_model_results.extend(turn_results)
        self.execution_results.append({"model": uncombined, "ground_truth": gt_results})
        if not self.ground_truth[k]:
            return TurnVerdict(k, True)
        if not steps or is_empty_execute_response(steps):
            details = {"execution_result": self.execution_results} if full_details else {}
            return TurnVerdict(k, False, EMPTY_TURN, f"Model response list is empty for turn {k}", details)
        for class_name, gt_state in gt_states.items():
            model_instance = self.model.instances[class_name]
            differences = compare_state(model_instance, gt_state)
            if differences:
                message = (
                    f"Model instance for {class_name} does not match the state with ground truth instance."
                )
                details = {"differences": differences}
                if full_details:
                    details["model_instance_state"] = backend.public_state(model_instance)
                    details["ground_truth_instance_state"] = gt_state
                    details["execution_result"] = self.execution_results
                return TurnVerdict(k, False, STATE_MISMATCH, message, details)
        ok, missing = is_subsequence_unordered(gt_results, self.all_model_results)
        if not ok:
            message = (
                "Model response execution results so far does not contain all the ground truth response "
                f"execution results for turn {k}."
            )
            details = {"missing_items": missing}
            if full_details:
                details["model_response (including all previous turns)"] = list(self.all_model_results)
                details["ground_truth_response (only the current turn)"] = gt_results
            return TurnVerdict(k, False, RESPONSE_MISMATCH, message, details)
        return TurnVerdict(k, True)


def _hidden_by_turn(entry: dict):
    """Strict mode: turn k -> names of miss_func functions not yet revealed at turn k."""
    missed = missed_functions(entry)

    def hidden(k: int) -> set[str]:
        return {name for turn, names in missed.items() if turn > k for name in names}

    return hidden


_DEFAULT = Checker()


def check_multi_turn(entry: dict, model_turns: Any, *, strict: bool = False, mangle: bool = True) -> Result:
    """BFCL's multi-turn verdict for ``model_turns`` (turns -> steps -> python-call strings) on ``entry``
    (a BFCL multi-turn entry holding ``ground_truth``). Options: see :class:`Checker`."""
    checker = _DEFAULT if (not strict and mangle) else Checker(strict=strict, mangle=mangle, cache_size=0)
    return checker.check(entry, model_turns)


def check_turns(
    entry: dict, model_turns: list, *, strict: bool = False, mangle: bool = True
) -> list[TurnVerdict]:
    """Per-turn verdicts (for RL rewards): see :meth:`Checker.check_turns`."""
    checker = _DEFAULT if (not strict and mangle) else Checker(strict=strict, mangle=mangle, cache_size=0)
    return checker.check_turns(entry, model_turns)
