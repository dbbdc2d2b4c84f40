"""A small OpenAI-compatible server that answers with a real checkpoint (transformers ``generate``, greedy).

The self-refinement loop's CPU test serves each round's checkpoint with it, the way a real run serves
it with vLLM: ``GET /v1/models`` lists the model (its id is the checkpoint path as given, like
``vllm serve <path>``) and ``POST /v1/chat/completions`` applies the tokenizer's chat template to the
messages and decodes greedily (``temperature`` and ``top_p`` are ignored: the answers are reproducible).
Every answered request is appended to a JSONL log (``--log``), one line per reply, written whole:

    {"key": <X-Request-Key header>, "model": <model id>, "messages": [...], "content": <reply>, ...}

so a test can show which replies the checkpoint produced and that a resumed run asks nothing twice.
A prompt that leaves no room in the model's context gets an OpenAI-style 400 (the client drops that
one sample with the reason). Requests are served one at a time (one model, one lock).

    python -m funrl.toy.hf_server --model ckpt/ --port 8000 --max-new-tokens 160 --log replies.jsonl
    # prints "LISTENING <port>" once the model is loaded

For tests and laptops only: no batching, no KV-cache reuse; a real run serves with vLLM.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REQUEST_KEY_HEADER = "X-Request-Key"


class PromptTooLong(ValueError):
    """The prompt leaves no room for an answer in the model's context."""


class GreedyChatModel:
    """A causal LM and its tokenizer from one directory; :meth:`reply` answers a chat greedily."""

    def __init__(self, model_dir: str | Path, *, max_new_tokens: int = 256) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
        self.max_new_tokens = max_new_tokens
        self.context = int(getattr(self.model.config, "max_position_embeddings", 1 << 30))

    def reply(self, messages: list[dict], max_tokens: int | None = None) -> tuple[str, int]:
        """The greedy answer to ``messages`` (chat template applied, generation prompt added) and its
        number of new tokens; at most ``min(max_tokens, max_new_tokens)`` tokens, within the context."""
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
        budget = min(max_tokens or self.max_new_tokens, self.max_new_tokens, self.context - ids.shape[1])
        if budget < 1:
            raise PromptTooLong(
                f"the prompt has {ids.shape[1]} tokens; the model's context is {self.context}"
            )
        with self.torch.no_grad():
            out = self.model.generate(
                ids,
                attention_mask=self.torch.ones_like(ids),
                do_sample=False,
                max_new_tokens=budget,
                eos_token_id=self.tokenizer.eos_token_id,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = out[0, ids.shape[1] :]
        return self.tokenizer.decode(new, skip_special_tokens=True), int(new.shape[0])


class HFServer:
    """The HTTP side: routes, the reply log, the lifecycle (in-process thread or ``serve_forever``)."""

    def __init__(
        self,
        model: GreedyChatModel,
        model_id: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: str | Path | None = None,
        latency_s: float = 0.0,
    ) -> None:
        self.model = model
        self.latency_s = latency_s  # added before every answer (tests: a window to kill a client in)
        self.model_id = model_id
        self.log_path = Path(log_path) if log_path else None
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.host, self.port = self.httpd.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def models(self) -> dict:
        return {"object": "list", "data": [{"id": self.model_id, "object": "model", "owned_by": "funrl"}]}

    def complete(self, key: str | None, body: dict) -> tuple[int, dict]:
        """One chat completion: (HTTP status, reply body); the reply is logged before it is returned."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, _error("messages must be a non-empty list")
        with self.lock:
            time.sleep(self.latency_s)
            try:
                content, n_new = self.model.reply(messages, body.get("max_tokens"))
            except PromptTooLong as e:
                return 400, _error(str(e))
            if self.log_path is not None:
                record = {"key": key, "model": self.model_id, "messages": messages, "content": content}
                line = json.dumps({**record, "new_tokens": n_new}, ensure_ascii=False) + "\n"
                with self.log_path.open("a", encoding="utf-8") as fh:
                    fh.write(line)
        return 200, _completion(self.model_id, content, n_new)

    def start(self) -> HFServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="hf-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> HFServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error(message: str) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "code": 400}}


def _completion(model_id: str, content: str, n_new: int) -> dict:
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_id,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": n_new, "total_tokens": n_new},
    }


def _handler(server: HFServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the OpenAI client expects

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.split("?", 1)[0].rstrip("/").endswith("/models"):
                self._send(200, server.models())
            else:
                self._send(404, _error(f"no route GET {self.path}"))

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not self.path.split("?", 1)[0].rstrip("/").endswith("/chat/completions"):
                self._send(404, _error(f"no route POST {self.path}"))
                return
            try:
                body: Any = json.loads(raw)
            except json.JSONDecodeError:
                self._send(400, _error("request body is not JSON"))
                return
            self._send(*server.complete(self.headers.get(REQUEST_KEY_HEADER), body))

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: the log file is the record
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a directory with the model and its tokenizer")
    parser.add_argument("--model-id", help="the id /v1/models lists (default: --model as given)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-new-tokens", type=int, default=256, help="cap on every answer's length")
    parser.add_argument("--log", help="append every reply to this JSONL file")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added before every answer")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    model = GreedyChatModel(args.model, max_new_tokens=args.max_new_tokens)
    model_id = args.model_id or args.model
    server = HFServer(
        model, model_id, host=args.host, port=args.port, log_path=args.log, latency_s=args.latency
    )
    print(f"LISTENING {server.port}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
