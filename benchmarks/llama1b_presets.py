"""The presets of benchmarks/gpu_check.sh (c): SFT of a ~1.03B-parameter scratch Llama, with the
library defaults and with the recommended settings, and the generated data they train on.

    python benchmarks/llama1b_presets.py FOLDER [--smoke]

writes FOLDER/defaults.toml, FOLDER/recommended.toml, FOLDER/fastest.toml and FOLDER/data/train.jsonl (every row longer
than the sequence, so each one is exactly SEQ tokens after truncation). `--smoke` makes the tiny
variant of the script's CPU smoke mode. tests/test_estimate_for.py reads the same presets, so
the memory estimate is checked against the presets the measurements come from.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

# hidden, intermediate, layers, heads, sequence, steps, recommended batch, logging every N steps
FULL = dict(hidden=2048, inter=5632, layers=20, heads=16, seq=1024, steps=60, batch_rec=16, log=10, rows=2500)
SMOKE = dict(hidden=64, inter=192, layers=2, heads=4, seq=128, steps=6, batch_rec=4, log=2, rows=200)

# The recommended settings: bf16, activation checkpointing off (1B fits without it), fused
# AdamW, a larger batch, TF32 matmuls, data-loader workers. The smoke run keeps what a CPU can do.
RECOMMENDED = ['per_device_train_batch_size = {batch_rec}', 'gradient_checkpointing = false', 'bf16 = true', 'tf32 = true',
               'optim = "adamw_torch_fused"', 'dataloader_num_workers = 2']
CPU_ONLY_DROPPED = ('bf16 = true', 'tf32 = true')
NAMES = ("defaults", "recommended", "fastest")


def fastest_lines(smoke: bool) -> tuple[list[str], list[str]]:
    """The recommended settings plus hftui's speed options, each where this machine has what it
    needs ([model] lines, [args] lines): flash-attention with padding-free packing when flash-attn
    is installed (else SDPA and plain packing), Liger kernels when liger-kernel is, and
    torch.compile on the training step. The CPU smoke run keeps packing only."""
    if smoke:
        return [], ["packing = true"]
    flash = importlib.util.find_spec("flash_attn") is not None
    model = [f'attn_implementation = "{"flash_attention_2" if flash else "sdpa"}"']
    args = ["packing = true", "torch_compile = true"]
    if flash:
        args.append("padding_free = true")
    if importlib.util.find_spec("liger_kernel") is not None:
        args.append("use_liger_kernel = true")
    return model, args


def preset_text(name: str, smoke: bool = False) -> str:
    """`name` is one of NAMES."""
    v = SMOKE if smoke else FULL
    model_extra, args_extra = fastest_lines(smoke) if name == "fastest" else ([], [])
    lines = [
        "schema = 1", f'name = "{name}"',
        "[model]", 'task = "causal-lm"', *model_extra,
        "[model.scratch]", 'architecture = "llama"', 'tokenizer = "byte"',
        f"hidden_size = {v['hidden']}", f"intermediate_size = {v['inter']}", f"num_hidden_layers = {v['layers']}",
        f"num_attention_heads = {v['heads']}", f"num_key_value_heads = {v['heads']}", f"max_position_embeddings = {v['seq'] * 2}",
        "[dataset]", 'path = "json"', 'data_files = { train = "data/train.jsonl" }', 'text_column = "text"', f"max_length = {v['seq']}",
        "[trainer]", 'type = "sft"',
        "[args]", f'output_dir = "out-{name}"', f"max_steps = {v['steps']}", f"logging_steps = {v['log']}", 'save_strategy = "no"',
    ]
    if name in ("recommended", "fastest"):
        lines += [line.format(**v) for line in RECOMMENDED if not (smoke and line in CPU_ONLY_DROPPED)]
    lines += args_extra
    return "\n".join(lines) + "\n"


def write_data(path: Path, rows: int, seq: int) -> None:
    rng = random.Random(0)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(5000)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for _ in range(rows):
            text = []
            while sum(len(w) + 1 for w in text) < seq * 1.5:
                text.append(rng.choice(words))
            fh.write(json.dumps({"text": " ".join(text)}) + "\n")


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2 or (len(argv) == 2 and argv[1] != "--smoke"):
        print(__doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 2
    folder, smoke = Path(argv[0]), len(argv) == 2
    v = SMOKE if smoke else FULL
    folder.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        (folder / f"{name}.toml").write_text(preset_text(name, smoke), encoding="utf-8")
    write_data(folder / "data" / "train.jsonl", v["rows"], v["seq"])
    print(" ".join(f"{k.upper()}={val}" for k, val in v.items()))  # for the shell script
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
