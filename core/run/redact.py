"""Secrets stay out of what a run writes and shows for people: error summaries, the error in
run.json, the log lines and notices a display prints.

Tokens and keys reach a run through the environment only, and the preset never holds them (the
token fields of [args] are dropped from the resolved preset). Their names are recognised here,
and their values replaced in text meant for people. What a run executes is never redacted: the
resolved preset, the command, the paths and the launch environment in run.json stay exact, since
a secret's value may well also be a file name or a folder the run must open.
"""

from __future__ import annotations

import os
import re

# HF_TOKEN, WANDB_API_KEY, AWS_SECRET_ACCESS_KEY, DB_PASSWORD... but not TOKENIZERS_PARALLELISM.
_SECRET_NAME = re.compile(r"(^|_)(TOKEN|KEY|PASSWORD|PASSWD|CREDENTIALS?)(_|$)|SECRET", re.IGNORECASE)
# [args] fields that hold a token: dropped from the resolved preset (the environment has it).
SECRET_ARGS = ("hub_token", "push_to_hub_token")
REDACTED = "<redacted>"
# The run.json fields written for people; every other field is read back to run the training.
RECORD_TEXT_FIELDS = ("error",)


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


def redact_record(data: dict) -> dict:
    """run.json's fields with secrets out of those written for people, the others untouched."""
    return {k: redact(v) if k in RECORD_TEXT_FIELDS and isinstance(v, str) else v for k, v in data.items()}
