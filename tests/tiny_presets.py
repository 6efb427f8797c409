"""Preset texts for tests: a tiny scratch Llama (byte tokenizer, width 32) that trains in seconds on CPU,
and a Llama-2-7B-shaped one for memory estimates.

Import it as the tests import conftest: `from tiny_presets import sft_preset`.
"""

from __future__ import annotations

import tomlkit

# A Llama-2-7B-shaped config: no weights are ever allocated for it.
LLAMA7B = """
schema = 1
[model.scratch]
architecture = "llama"
hidden_size = 4096
intermediate_size = 11008
num_hidden_layers = 32
num_attention_heads = 32
vocab_size = 32000
[dataset]
max_length = 2048
[args]
bf16 = true
per_device_train_batch_size = 1
gradient_checkpointing = true
"""


def scratch_llama(layers: int = 1, heads: int = 2, kv_heads: int | None = None) -> dict:
    """The [model.scratch] table of the tiny Llama; `kv_heads=None` leaves num_key_value_heads out."""
    scratch = {
        "architecture": "llama",
        "tokenizer": "byte",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
    }
    if kv_heads is not None:
        scratch["num_key_value_heads"] = kv_heads
    return scratch


def toml_text(data: dict) -> str:
    """TOML for nested dicts (tables in the order given; an empty dict writes a bare header)."""
    return tomlkit.dumps(data)


def sft_preset(
    name: str,
    *,
    args: dict,
    task: str | None = "causal-lm",
    model: dict | None = None,
    scratch: dict | None = None,
    data_files: str = "data.jsonl",
    text_column: str = "text",
    launch: dict | None = None,
    **top,
) -> str:
    """An SFT preset that trains the tiny Llama on a JSON-lines file.

    `args` is added to output_dir "out" and report_to "none"; `model` holds extra [model] keys,
    `task=None` leaves model.task out, `launch` adds a [launch] table (an empty dict writes the bare
    header) and the remaining keywords are top-level keys such as `description`.
    """
    model_table = {"task": task} if task is not None else {}
    data = {
        "schema": 1,
        "name": name,
        **top,
        "model": {**model_table, **(model or {}), "scratch": scratch if scratch is not None else scratch_llama(kv_heads=2)},
        "dataset": {"path": "json", "data_files": data_files, "text_column": text_column, "max_length": 32},
        "trainer": {"type": "sft"},
        "args": {"output_dir": "out", "report_to": "none", **args},
    }
    if launch is not None:
        data["launch"] = launch
    return toml_text(data)
