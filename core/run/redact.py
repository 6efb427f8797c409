"""Secrets stay out of everything a run writes: run.json, the resolved preset, error summaries.

Tokens and keys reach a run through the environment only. Their names are recognised here, and
their values are replaced wherever they would otherwise land in a file.
"""

from __future__ import annotations

import os
import re

# HF_TOKEN, WANDB_API_KEY, AWS_SECRET_ACCESS_KEY, DB_PASSWORD... but not TOKENIZERS_PARALLELISM.
_SECRET_NAME = re.compile(r"(^|_)(TOKEN|KEY|PASSWORD|PASSWD|CREDENTIALS?)(_|$)|SECRET", re.IGNORECASE)
# [args] fields that hold a token: dropped from the resolved preset (the environment has it).
SECRET_ARGS = ("hub_token", "push_to_hub_token")
REDACTED = "<redacted>"


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def secret_values(environ: dict | None = None) -> list[str]:
    """Values of the environment's tokens and keys, longest first (never written anywhere)."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if is_secret_name(k) and isinstance(v, str) and len(v) >= 8}
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    for value in secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    return text
