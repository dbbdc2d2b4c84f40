"""Command-line pieces the evaluation subcommands share (``bfcl`` and ``humaneval`` ask a served model the
same way)."""

from __future__ import annotations

import argparse

from funrl.data_prep import EndpointConfig


def endpoint_from_args(args: argparse.Namespace) -> EndpointConfig:
    """The endpoint settings of the shared options (``--endpoint``, ``--model``, ``--api-key-env``,
    ``--concurrency``, ``--timeout``, ``--max-retries``, ``--temperature``, ``--max-tokens``)."""
    return EndpointConfig(
        base_url=args.endpoint,
        model=args.model,
        api_key_env=args.api_key_env,
        concurrency=args.concurrency,
        timeout_s=args.timeout,
        max_retries=args.max_retries,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
    )
