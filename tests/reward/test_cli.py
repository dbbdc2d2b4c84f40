"""`python -m funrl.reward score FILE`, run as a user runs it."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import funrl.reward

SAMPLE = pathlib.Path(funrl.reward.__file__).parent / "samples" / "sample.jsonl"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "funrl.reward", *args], capture_output=True, text=True, timeout=120
    )


def test_bundled_sample_report_json():
    proc = run("score", str(SAMPLE), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    # Written by hand: 7 of the 16 sample outputs are right (see reward/samples/sample.jsonl).
    assert (report["scored"], report["correct"]) == (16, 7)
    assert report["by_category"]["parallel"] == {"n": 3, "correct": 2, "accuracy": 2 / 3}
    assert report["error_types"]["type_error:simple"] == 2  # "250" for a float, 2.0 for an integer
    assert report["error_types"]["format_error:missing_think"] == 1
    assert sum(report["error_types"].values()) == 16 - 7
    assert report["bad_lines"] == []


def test_text_report_and_overrides():
    proc = run("score", str(SAMPLE), "--no-require-think")
    assert proc.returncode == 0, proc.stderr
    assert "8/16 correct" in proc.stdout  # weather-3 passes once the think block is optional
    assert "accuracy" in proc.stdout and "error type" in proc.stdout


def test_bad_lines_are_reported_not_dropped(tmp_path):
    good = SAMPLE.read_text().splitlines()[0]
    f = tmp_path / "mixed.jsonl"
    f.write_text(
        "\n".join(
            [
                good,
                "{not json",
                json.dumps(
                    {
                        "id": "x",
                        "output": "[f()]",
                        "ground_truth": {"functions": [], "possible_answer": [], "category": "simple"},
                    }
                ),
                json.dumps({"id": "y", "ground_truth": json.loads(good)["ground_truth"]}),
            ]
        )
    )
    proc = run("score", str(f), "--json")
    assert proc.returncode == 2
    report = json.loads(proc.stdout)
    assert report["scored"] == 1 and report["correct"] == 1
    assert [b["line"] for b in report["bad_lines"]] == [2, 3, 4]
    assert "functions" in report["bad_lines"][1]["reason"]
    assert "output" in report["bad_lines"][2]["reason"]
    assert "NOT SCORED" in run("score", str(f)).stderr


def test_progress_bar_on_request(tmp_path):
    f = tmp_path / "many.jsonl"
    f.write_text((SAMPLE.read_text()) * 50)
    proc = run("score", str(f), "--progress", "--json")
    assert proc.returncode == 0
    assert "[##############################] 100%  800 samples" in proc.stderr and "samples/s" in proc.stderr
    assert json.loads(proc.stdout)["scored"] == 800
