"""One candidate of `hftui probe`: `python -m hftui.core.train.probe REQUEST.json RESULT.json`.

The request names the preset file, the `--set` overrides, the batch size and the steps. This
process builds the model, data and trainer exactly as a run's worker does (one process, one
device), trains that many steps with nothing saved or evaluated, and writes one JSON object:
peak memory (on a GPU torch's peak allocated and reserved bytes, on the CPU the process's peak
resident memory), tokens/s after the first step (the warm-up), the device and the model's size.
An out-of-memory error is a result (`"oom": true`), not a crash; a candidate runs in its own
process so the next one starts with a clean allocator.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
import traceback
from pathlib import Path

# What a probe changes in [args]: nothing saved, evaluated, logged or reported; every token counted.
QUIET_ARGS = {"save_strategy": "no", "eval_strategy": "no", "logging_strategy": "no", "report_to": "none",
              "push_to_hub": False, "load_best_model_at_end": False, "include_num_input_tokens_seen": "all",
              "dataloader_num_workers": 0}


def probe_preset(preset, batch: int, steps: int, output_dir: str):
    """The preset one candidate trains: the batch size, a few steps, one process, nothing kept."""
    preset = preset.with_value("args.per_device_train_batch_size", int(batch))
    preset = preset.with_value("args.max_steps", int(steps))
    preset = preset.with_value("args.output_dir", output_dir)
    for key, value in QUIET_ARGS.items():
        preset = preset.with_value(f"args.{key}", value)
    for key in ("num_train_epochs", "eval_steps", "save_steps", "hub_model_id"):
        if preset.has(f"args.{key}"):
            preset = preset.without(f"args.{key}")
    return preset.with_value("launch.backend", "single")


def _timing_callback(marks: list):
    from transformers import TrainerCallback

    class StepTimes(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            cuda = sys.modules.get("torch.cuda")
            if cuda is not None and cuda.is_available():
                cuda.synchronize()  # the step's kernels are done when its time is read
            marks.append((time.perf_counter(), int(getattr(state, "num_input_tokens_seen", 0) or 0)))

    return StepTimes()


def _peak_rss_bytes() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux


def measure(preset, batch: int, steps: int) -> dict:
    """Train `steps` steps of `batch` rows and return what `hftui probe` shows."""
    import torch

    from hftui.core.train.worker import build

    result: dict = {"batch": int(batch), "steps": int(steps), "oom": False, "error": None}
    on_gpu = torch.cuda.is_available()
    result["device"] = torch.cuda.get_device_name(0) if on_gpu else "cpu"
    if on_gpu:
        result["capacity_bytes"] = int(torch.cuda.get_device_properties(0).total_memory)
    else:
        result["capacity_bytes"] = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    marks: list = []
    with tempfile.TemporaryDirectory(prefix="hftui-probe-") as out:
        built = build(probe_preset(preset, batch, steps, out))
        built.trainer.add_callback(_timing_callback(marks))
        result.update({"total_params": built.info.get("total_params")})
        facts = built.info.get("model_facts")
        if facts is not None:
            result.update({"layers": facts.num_layers, "hidden": facts.hidden_size})
        if on_gpu:
            torch.cuda.reset_peak_memory_stats()
        try:
            built.trainer.train()
        except torch.OutOfMemoryError as exc:
            result["oom"] = True
            result["error"] = str(exc).splitlines()[0][:300]
    if on_gpu:
        result["peak_bytes"] = int(torch.cuda.max_memory_allocated())
        result["reserved_bytes"] = int(torch.cuda.max_memory_reserved())
    else:
        result["peak_bytes"] = _peak_rss_bytes()
    if len(marks) >= 2:
        (t0, n0), (t1, n1) = marks[0], marks[-1]
        result["tokens_per_second"] = (n1 - n0) / (t1 - t0) if t1 > t0 and n1 > n0 else None
        result["seq"] = n1 / max(1, len(marks) * batch)  # mean tokens per row, padding included
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m hftui.core.train.probe REQUEST.json RESULT.json", file=sys.stderr)
        return 2
    from hftui.core.fsutil import atomic_write_text
    from hftui.core.preset import apply_overrides, load

    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        preset = apply_overrides(load(request["preset"]), request.get("overrides", []))
        result = measure(preset, int(request["batch"]), int(request["steps"]))
    except BaseException as exc:  # a failed candidate is a row of the table, with its reason
        traceback.print_exc(file=sys.stderr)
        from hftui.core.problems import PresetError

        if isinstance(exc, PresetError) and exc.problems:
            text = "; ".join(p.message for p in exc.problems)[:300]
        else:
            text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:300]
        oom = "out of memory" in str(exc).lower() or type(exc).__name__ == "OutOfMemoryError"
        result = {"batch": int(request["batch"]), "oom": oom, "error": text}
    atomic_write_text(Path(argv[1]), json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
