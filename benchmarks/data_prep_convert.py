"""``convert`` on a generated xLAM-like file: rows/s and peak memory.

    python benchmarks/data_prep_convert.py                 # 60,000 rows (xlam-function-calling-60k's size)
    python benchmarks/data_prep_convert.py --rows 5000

The file is a JSON array like xLAM's: ``query``, and ``tools`` / ``answers`` as JSON strings; 1-4 tools per
row (xLAM-style Python types, some optional with defaults), 1-3 reference calls, and 1% of rows malformed
(bad JSON in ``tools``, an unknown function, a wrong type) so quarantining is exercised. ``convert`` runs
as its own process (``python -m funrl.data_prep convert``): wall time from start to exit (imports
included) and its peak resident memory (``ru_maxrss`` of the child).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TYPES = [
    ("str", lambda r: f"City{r.randrange(1000)}"),
    ("int", lambda r: r.randrange(1, 50)),
    ("float", lambda r: round(r.random() * 10, 2)),
    ("List[str]", lambda r: [f"t{r.randrange(9)}"]),
    ("bool", lambda r: r.random() < 0.5),
]


def xlam_row(i: int, rng: random.Random) -> dict:
    tools = []
    for t in range(rng.randint(1, 4)):
        params = {}
        for p in range(rng.randint(1, 5)):
            type_name, _ = TYPES[(t + p) % len(TYPES)]
            optional = p > 1 and rng.random() < 0.5
            params[f"p{p}"] = {
                "type": type_name + (", optional" if optional else ""),
                "description": f"Parameter {p} of tool {t}, used for the {i}th query.",
            }
            if optional:
                params[f"p{p}"]["default"] = None
        tools.append({"name": f"tool_{t}", "description": f"Synthetic tool {t} " * 4, "parameters": params})
    answers = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        tool = rng.choice(tools)
        args = {}
        for p, spec in tool["parameters"].items():
            base = spec["type"].split(",")[0]
            if "optional" not in spec["type"] or rng.random() < 0.5:
                args[p] = dict(TYPES)[base](rng)
        answers.append({"name": tool["name"], "arguments": args})
    row = {
        "id": i,
        "query": f"Query {i}: please do " + " and ".join(a["name"] for a in answers),
        "tools": json.dumps(tools),
        "answers": json.dumps(answers),
    }
    if i % 100 == 37:  # 1% malformed, three kinds
        kind = i // 100 % 3
        if kind == 0:
            row["tools"] = row["tools"][:-3]
        elif kind == 1:
            row["answers"] = json.dumps([{"name": "no_such_tool", "arguments": {}}])
        else:
            row["answers"] = json.dumps([{"name": tools[0]["name"], "arguments": {"p1": "not a number"}}])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "xlam_like.json"
        data.write_text(json.dumps([xlam_row(i, rng) for i in range(args.rows)]))
        size_mb = data.stat().st_size / 2**20
        command = [
            sys.executable,
            "-m",
            "funrl.data_prep",
            "convert",
            "--input",
            str(data),
            "--out",
            str(Path(tmp) / "out"),
            "--val-fraction",
            "0.01",
        ]
        load = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"convert failed ({done.returncode}): {done.stderr[-2000:]}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = json.loads((Path(tmp) / "out" / "report.json").read_text())["convert"]
    print(done.stdout.strip())
    print(
        f"convert: {args.rows:,} rows ({size_mb:.1f} MB JSON array) in {wall:.1f} s = "
        f"{args.rows / wall:,.0f} rows/s (process start and imports included); peak RSS {peak_mb:,.0f} MB"
    )
    print(
        f"  rows in {report['rows_in']:,} = out {report['rows_in'] - report['quarantined']:,} + quarantined "
        f"{report['quarantined']:,}; {os.cpu_count()} cores, load average {load:.2f} before"
    )


if __name__ == "__main__":
    main()
