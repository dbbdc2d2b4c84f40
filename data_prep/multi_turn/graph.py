"""Phase I: the environment-API graph G = (T, R, P) of BFCL's environment classes.

* T: the public tools of the involved classes (BFCL's function docs).
* R, prerequisite edges A -> B, found by execution in the real environment: B fails in a probe state,
  and the same call of B succeeds after A (arguments sampled from the live state, see ``params``).
  Probes start from the class's bare state (``states.bare_config``: empty folder, logged out, no
  orders), where a second level starts after one call of a tool found enabling (chains such as
  ``trading_login -> place_order -> cancel_order``), and from ``states.PROBE_STATES`` generated states,
  where a prerequisite that is one of several shows (``pressBrakePedal -> startEngine`` when the doors
  are locked and there is fuel). Each edge keeps its evidence (state, call strings, outputs), so a test
  can replay it. Classes are probed one by one (no edge crosses classes), once per process.
* P, parameter dependencies A -> B, from the schemas: a response field of A has the name of a
  parameter of B (or an alias in ``params.ALIASES``), e.g. ``place_order.order_id -> cancel_order``;
  quantities and free text (``QUANTITIES``: amount, price, title, content...) make no edge, and no
  edge crosses classes.

The distance used by the walker is the length of the shortest directed path in R u P.
"""

from __future__ import annotations

import functools
import random
from collections import deque
from dataclasses import dataclass, field

from funrl.envs.bfcl import BfclEnv
from funrl.envs.bfcl.backend import STATELESS_CLASSES, function_docs

from .params import ALIASES, call_string, is_error, observe
from .rules import sample_args
from .states import check_classes, probe_configs

#: Tools no walk calls (the reasoner still sees them): ``verify_traveler_information`` checks an age
#: against ``datetime.today()``, so a ground truth holding it would not replay on another day.
EXCLUDED_TOOLS = frozenset({"verify_traveler_information"})
#: Sampled argument sets tried per probe (a prerequisite shows in any of them).
PROBE_TRIALS = 3


@dataclass(frozen=True)
class Evidence:
    """Why an edge A -> B exists: B failed after ``prefix``, and succeeded after ``prefix`` + A."""

    state: str  # the probe state (``states.probe_configs``): "bare" or "probe:<k>"
    prefix: tuple[str, ...]  # call strings run first (empty at the first level)
    failed: tuple[str, str]  # (B's call, its output) right after the prefix
    enabling: tuple[str, str]  # (A's call, its output)
    passed: tuple[str, str]  # (the same B call, its output) after the prefix and A


@dataclass
class ApiGraph:
    classes: tuple[str, ...]
    tools: dict[str, tuple[str, dict]]  # name -> (class, BFCL function doc)
    prerequisites: dict[tuple[str, str], Evidence] = field(default_factory=dict)  # (A, B) -> evidence
    parameters: set[tuple[str, str, str, str]] = field(default_factory=set)  # (A, field, B, param)

    def edges(self) -> set[tuple[str, str]]:
        return set(self.prerequisites) | {(a, b) for a, _, b, _ in self.parameters}

    def distances_to(self, target: str) -> dict[str, int]:
        """Tool -> length of the shortest path to ``target`` in R u P (the target: 0; unreachable: absent)."""
        incoming: dict[str, set[str]] = {}
        for a, b in self.edges():
            incoming.setdefault(b, set()).add(a)
        dist, queue = {target: 0}, deque([target])
        while queue:
            node = queue.popleft()
            for a in sorted(incoming.get(node, ())):
                if a not in dist:
                    dist[a] = dist[node] + 1
                    queue.append(a)
        return dist

    def summary(self) -> dict:
        return {
            "tools": len(self.tools),
            "prerequisite_edges": sorted(f"{a} -> {b}" for a, b in self.prerequisites),
            "parameter_edges": sorted(f"{a}.{f} -> {b}.{p}" for a, f, b, p in self.parameters),
        }


def probe_entry(class_name: str, state: str = "bare") -> dict:
    """The entry of a probe environment (``state``: a label of ``states.probe_configs``)."""
    config = dict(probe_configs(class_name))[state]
    return {
        "id": "funrl_mt_probe",
        "involved_classes": [class_name],
        "initial_config": {class_name: config},
        "ground_truth": [[]],
    }


class _Prober:
    """Runs calls in fresh probe environments of one class, from one probe state."""

    def __init__(self, class_name: str, docs: dict[str, dict], state: str) -> None:
        self.class_name, self.docs, self.state = class_name, docs, state
        self.entry = probe_entry(class_name, state)

    def run(self, names: list[str], rng: random.Random) -> list[tuple[str, str]]:
        """Fresh env; each tool called once with arguments sampled from the live state."""
        env, done, outputs = BfclEnv(self.entry), [], []
        for name in names:
            live = observe(env, rng, outputs)
            call = call_string(name, sample_args(self.class_name, self.docs[name], live))
            out = env.execute([call])[0]
            done.append((call, out))
            outputs.append(out)
        env.close()
        return done

    def fails(self, prefix: tuple[str, ...], b: str) -> bool:
        """Whether B fails after the prefix in every trial (sampled arguments)."""
        for t in range(PROBE_TRIALS):
            run = self.run([*prefix, b], random.Random(f"fail:{prefix}:{b}:{t}"))
            if any(is_error(o) for _, o in run[:-1]) or not is_error(run[-1][1]):
                return False
        return True

    def replay(self, calls: list[str]) -> list[str]:
        env = BfclEnv(self.entry)
        try:
            return env.execute(calls)
        finally:
            env.close()

    def enables(self, prefix: tuple[str, ...], a: str, b: str) -> Evidence | None:
        """Evidence that A enables B after the prefix: a run where every call succeeds, and B's very
        call fails when replayed after the prefix without A."""
        for t in range(PROBE_TRIALS):
            run = self.run([*prefix, a, b], random.Random(f"pass:{prefix}:{a}:{b}:{t}"))
            if any(is_error(o) for _, o in run):
                continue
            head = [c for c, _ in run[: len(prefix)]]
            b_call = run[-1][0]
            without = self.replay([*head, b_call])[-1]
            if is_error(without):
                return Evidence(self.state, tuple(head), (b_call, without), run[-2], run[-1])
        return None


@functools.cache
def class_edges(class_name: str) -> dict[tuple[str, str], Evidence]:
    """The prerequisite edges of one class with their evidence (probed once per process): two levels
    from the bare state, one level from each generated probe state."""
    docs = {d["name"]: d for d in function_docs(class_name) if d["name"] not in EXCLUDED_TOOLS}
    names = sorted(docs)
    edges: dict[tuple[str, str], Evidence] = {}
    for state, _config in probe_configs(class_name):
        prober = _Prober(class_name, docs, state)
        prefixes: list[tuple[str, ...]] = [()]
        for _level in range(2 if state == "bare" else 1):
            found = []
            for prefix in prefixes:
                for b in names:
                    if not prober.fails(prefix, b):
                        continue
                    for a in names:
                        if (a, b) in edges:
                            continue
                        evidence = prober.enables(prefix, a, b)
                        if evidence is not None:
                            edges[(a, b)] = evidence
                            found.append((a, b))
            # next level: from a state where a tool that needed no prerequisite has been called
            prefixes = sorted({(a,) for a, _ in found if not any(b == a for _, b in edges)})
    return edges


#: Response fields that share a name with a parameter but not a meaning (an order's ``amount`` of shares
#: is not the ``amount`` of money ``fund_account`` takes; a ticket's ``title`` is not the one of a new
#: ticket): quantities and free text make no parameter edge, identifiers do.
QUANTITIES = frozenset(
    {"amount", "price", "order_type", "status", "result", "priority"}
    | {"title", "description", "content", "message", "tags", "mentions"}
)


def _parameter_edges(graph: ApiGraph) -> None:
    for a, (class_a, doc_a) in graph.tools.items():
        fields = set(doc_a.get("response", {}).get("properties", {})) - QUANTITIES
        for b, (class_b, doc_b) in graph.tools.items():
            if a == b or class_a != class_b:  # classes share no state: an id of one means nothing to another
                continue
            for p in doc_b["parameters"]["properties"]:
                for f in sorted(fields & {p, *ALIASES.get(p, ())}):
                    graph.parameters.add((a, f, b, p))


@functools.cache
def build_graph(classes: tuple[str, ...]) -> ApiGraph:
    """The graph of ``classes`` (probed once per process; the same for the same classes)."""
    check_classes(list(classes))
    tools = {d["name"]: (c, d) for c in classes for d in function_docs(c) if d["name"] not in EXCLUDED_TOOLS}
    graph = ApiGraph(tuple(classes), tools)
    for c in classes:
        if c not in STATELESS_CLASSES:  # no state, so no call can enable another
            graph.prerequisites.update(class_edges(c))
    _parameter_edges(graph)
    return graph
