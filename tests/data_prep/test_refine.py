"""The self-refinement loop's configuration and its loud failures (fast: a random tiny model, no training).

The end-to-end round with the warm-started model and the real trainer is tests/data_prep/test_refine_e2e.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from funrl.data_prep.__main__ import main
from funrl.data_prep.config import ConfigError
from funrl.data_prep.demo import demo_inputs
from funrl.data_prep.refine import RefineFailed, loss_summary, run_refine
from funrl.data_prep.refine_config import load_refine_config
from funrl.data_prep.scripted_endpoints import ScriptedTeacherJudge

from funrl.toy.hf_server import GreedyChatModel, HFServer
from funrl.toy.scripted_server import OpenAIServer

from .demo_setup import demo_samples


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("transformers")
    from funrl.toy import tiny_qwen2

    return tiny_qwen2(tmp_path_factory.mktemp("refine_model") / "model")


def _tree(checkpoint, work_dir, judge_url="http://127.0.0.1:9/v1", **serve) -> dict:
    inputs = [{k: v for k, v in vars(i).items() if v is not None} for i in demo_inputs()]
    return {
        "checkpoint": str(checkpoint),
        "work_dir": str(work_dir),
        "serve": serve or {"endpoint": "http://127.0.0.1:8/v1"},
        "data_prep": {
            "inputs": inputs,
            "progress": False,
            "generate": {"endpoint": {"concurrency": 2, "max_tokens": 8, "backoff_initial_s": 0.01}},
            "judge": {"endpoint": {"base_url": judge_url, "model": "judge", "backoff_initial_s": 0.01}},
        },
    }


def _load(tmp_path, tree: dict, *overrides: str):
    path = tmp_path / "refine.yaml"
    path.write_text(json.dumps(tree))
    return load_refine_config(path, list(overrides))


@pytest.mark.parametrize(
    "override, message",
    [
        ("data_prep.judge.endpoint=null", r"^data_prep\.judge\.endpoint is not set"),
        ("serve.endpoint=http://127.0.0.1:9/v1/", r"^data_prep\.judge\.endpoint is the generator's endpoint"),
        ("data_prep.generate.show_reference=true", r"^data_prep\.generate\.show_reference must be false"),
        ("data_prep.generate.reuse_existing_cot=true", r"^data_prep\.generate\.reuse_existing_cot must be"),
        ("data_prep.generate.endpoint.base_url=http://x/v1", r"^data_prep\.generate\.endpoint\.base_url is"),
        ("data_prep.work_dir=elsewhere", r"^data_prep\.work_dir is set by the loop"),
        ("train.overrides=[model.path=/m]", r"^train\.overrides: model\.path is set by the loop"),
        ("train.command=[x, '{nope}']", r"^train\.command: '\{nope\}' has an unknown placeholder"),
        ("serve.command=[vllm]", r"^serve: set exactly one of serve\.command"),
        (
            "serve={command: [vllm], port: 9}",  # the judge's own port
            r"^data_prep\.judge\.endpoint is the generator's endpoint \(http://127\.0\.0\.1:9/v1\)",
        ),
        ("rounds=0", r"^rounds must be >= 1"),
        ("data_prep.judge.max_rounds=0", r"^data_prep\.judge\.max_rounds must be >= 1"),
    ],
)
def test_config_errors_name_the_key(tmp_path, tiny_model, override, message):
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, _tree(tiny_model, tmp_path / "w"), override)


def test_config_accepts_a_separate_judge_and_defaults(tmp_path, tiny_model):
    cfg = _load(tmp_path, _tree(tiny_model, tmp_path / "w"))
    assert cfg.rounds == 1 and cfg.data_prep.generate.reuse_existing_cot is False
    assert cfg.train.command == ["{python}", "-m", "funrl.train", "+recipe=sft_srml"]
    with pytest.raises(ConfigError, match=r"^checkpoint: .* has no config.json"):
        _load(tmp_path, _tree(tmp_path, tmp_path / "w"))


def test_cli_bad_config_exits_2(tmp_path, tiny_model, capsys):
    path = tmp_path / "refine.yaml"
    path.write_text(json.dumps(_tree(tiny_model, tmp_path / "w")))
    assert main(["refine", "--config", str(path), "data_prep.judge.endpoint=null"]) == 2
    assert capsys.readouterr().err.startswith("error: data_prep.judge.endpoint is not set")
    assert main(["refine", "--config", str(path), "--stop-after", "1:nothing"]) == 2
    assert "--stop-after: 'nothing' is not a step" in capsys.readouterr().err


def test_endpoint_not_serving_the_rounds_checkpoint_stops_the_round(tmp_path, tiny_model):
    with OpenAIServer() as other:  # lists the model "loopback" only
        cfg = _load(tmp_path, _tree(tiny_model, tmp_path / "w", endpoint=other.base_url))
        with pytest.raises(RefineFailed, match=r"^round 1: serve.endpoint .* serves \['loopback'\], not"):
            run_refine(cfg, echo=lambda s: None)
        assert not other.log  # nothing was asked


def test_serve_command_that_dies_fails_with_its_log(tmp_path, tiny_model):
    command = ["{python}", "-c", "import sys; print('no GPU here'); sys.exit(7)"]
    cfg = _load(tmp_path, _tree(tiny_model, tmp_path / "w", command=command))
    with pytest.raises(RefineFailed, match=r"(?s)^round 1: the serve command exited with 7.*no GPU here"):
        run_refine(cfg, echo=lambda s: None)


def test_a_round_with_nothing_passing_stops_the_loop_naming_round_and_causes(tmp_path, tiny_model, capsys):
    """A random model writes no calls: on queries that all expect calls, FCDR drops everything, the round
    exports 0 rows, exit 4."""
    checkpoint = str(tiny_model.resolve())
    xlam = demo_inputs()[0]  # every xLAM demo row has reference calls
    only_calls = ("data_prep.judge.max_rounds=1", f"data_prep.inputs=[{{path: {xlam.path}, format: xlam}}]")
    with (
        OpenAIServer(ScriptedTeacherJudge(demo_samples())) as judge,
        HFServer(GreedyChatModel(tiny_model, max_new_tokens=8), checkpoint) as model,
    ):
        path = tmp_path / "refine.yaml"
        path.write_text(
            json.dumps(_tree(tiny_model, tmp_path / "w", judge.base_url, endpoint=model.base_url))
        )
        rc = main(["refine", "--config", str(path), *only_calls])
    message = capsys.readouterr().err
    assert rc == 4
    assert "\nerror: round 1: data prep run failed:\n" in message and "the output is empty" in message
    assert "Drop causes of round 1: judge:is_call:rounds_exhausted 8, generate:request_error 1" in message
    report = json.loads((tmp_path / "w" / "round_1" / "round.json").read_text())
    n = sum(1 for s in demo_samples() if s.source == "demo_xlam")
    assert report["samples_asked"] == n == 9 and report["fcdr"]["accepted"] == 0
    # one sample's prompt does not fit the tiny model's 1024-token context: the server's 400 drops it
    assert report["generate_dropped"] == {"generate:request_error": 1}
    (drop,) = [json.loads(line) for line in (tmp_path / "w/round_1/prep/generate.drops.jsonl").open()]
    assert "the model's context is 1024" in drop["detail"]
    # one answer each for the others (max_rounds 1), none of them a call
    assert report["fcdr"]["verdicts"] == {"is_call": {"fail": n - 1}}
    done = sorted(p.name for p in (tmp_path / "w" / "round_1" / "done").iterdir())
    assert done == ["judge", "sample", "validate"]  # export failed: not marked, the rerun retries it


def test_example_config_loads(tiny_model):
    example = Path(__file__).parents[2] / "data_prep" / "samples" / "refine.yaml"
    cfg = load_refine_config(example, [f"checkpoint={tiny_model}"])
    assert cfg.rounds == 2 and cfg.serve.command[:2] == ["vllm", "serve"]
    assert cfg.data_prep.judge_endpoint.base_url != cfg.data_prep.generate.endpoint.base_url


def test_loss_summary_reads_verls_console_lines():
    console = (
        "noise\nstep:1 - train/loss:6.25 - train/L_think:6.5 - train/lr:0.001\n"
        "step:2 - train/loss:5.0 - train/L_think:bad\n"
    )
    assert loss_summary(console) == {
        "steps": 2,
        "loss_first": {"train/loss": 6.25, "train/L_think": 6.5},
        "loss_last": {"train/loss": 5.0},
    }
    assert loss_summary("nothing logged") == {"steps": None}


def test_python_placeholder_is_this_interpreter(tmp_path, tiny_model):
    cfg = _load(tmp_path, _tree(tiny_model, tmp_path / "w"))
    assert cfg.train.command[0].format(python=sys.executable) == sys.executable


def test_hf_server_answers_greedily_and_records_each_reply(tmp_path, tiny_model):
    """The reply equals an independent greedy loop (argmax of the model's logits, token by token) over the
    chat template; /v1/models lists the id; the log holds the request key, the messages and the reply."""
    import openai
    import torch

    chat = GreedyChatModel(tiny_model, max_new_tokens=12)
    messages = [
        {"role": "system", "content": "Tools: none."},
        {"role": "user", "content": "Weather in Oslo?"},
    ]
    log = tmp_path / "replies.jsonl"
    with HFServer(chat, "the-model", log_path=log) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x")
        assert [m.id for m in client.models.list()] == ["the-model"]
        reply = client.chat.completions.create(
            model="the-model", messages=messages, max_tokens=5, extra_headers={"X-Request-Key": "k1"}
        )
    tok, model = chat.tokenizer, chat.model
    ids = tok(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))["input_ids"]
    new: list[int] = []
    with torch.no_grad():
        for _ in range(5):  # max_tokens 5 < max_new_tokens 12
            nxt = int(model(torch.tensor([ids + new])).logits[0, -1].argmax())
            if nxt == tok.eos_token_id:
                break
            new.append(nxt)
    expected = tok.decode(new, skip_special_tokens=True)
    assert new  # something to compare
    assert reply.choices[0].message.content == expected and reply.usage.completion_tokens == len(new)
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record == {
        "key": "k1",
        "model": "the-model",
        "messages": messages,
        "content": expected,
        "new_tokens": len(new),
    }


def test_stop_after_and_rerun_resume_at_the_next_step_asking_nothing_again(tmp_path, tiny_model):
    """--stop-after 1:judge, then a rerun up to 1:export: the rerun starts at validate, with no server
    request (sampling and FCDR are done); the random model's plain-text answers to the 2 queries that
    expect no call are kept (FCDR's step 1), so the export has rows."""
    checkpoint, replies = str(tiny_model.resolve()), tmp_path / "replies.jsonl"
    with (
        OpenAIServer(ScriptedTeacherJudge(demo_samples())) as judge,
        HFServer(GreedyChatModel(tiny_model, max_new_tokens=8), checkpoint, log_path=replies) as model,
    ):
        path = tmp_path / "refine.yaml"
        path.write_text(
            json.dumps(_tree(tiny_model, tmp_path / "w", judge.base_url, endpoint=model.base_url))
        )
        assert (
            main(["refine", "--config", str(path), "--stop-after", "1:judge", "data_prep.judge.max_rounds=1"])
            == 0
        )
        done = tmp_path / "w" / "round_1" / "done"
        assert sorted(p.name for p in done.iterdir()) == ["judge", "sample"]
        asked = (len(judge.log), len(replies.read_text().splitlines()))
        assert (
            main(
                ["refine", "--config", str(path), "--stop-after", "1:export", "data_prep.judge.max_rounds=1"]
            )
            == 0
        )
        assert (len(judge.log), len(replies.read_text().splitlines())) == asked  # nothing asked again
    assert sorted(p.name for p in done.iterdir()) == ["export", "judge", "sample", "validate"]
    # stopping after a step that is done already runs nothing (no server is asked: none is up any more)
    assert (
        main(["refine", "--config", str(path), "--stop-after", "1:judge", "data_prep.judge.max_rounds=1"])
        == 0
    )
    assert sorted(p.name for p in done.iterdir()) == ["export", "judge", "sample", "validate"]
    report = json.loads((tmp_path / "w" / "round_1" / "round.json").read_text())
    assert report["fcdr"]["kept_non_call"] == 2 and report["exported_sft_rows"] == 2
    summary = json.loads((tmp_path / "w" / "report.json").read_text())
    assert summary["rounds"] == [report]
