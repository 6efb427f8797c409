"""Live training speed for the `log` events: samples/s, tokens/s and MFU between two logging steps.

Everything comes from counts already on the host, so measuring adds no device sync: the wall
clock, the step counter, the Trainer's `num_input_tokens_seen` (kept when
`include_num_input_tokens_seen` is on) or the token count SFT and GRPO log (`num_tokens`). Without
either, tokens are estimated as samples x the mean length of the training rows, and the event says
so (`tokens_estimated`). Time spent evaluating and saving between two logs is left out, so the
rate is the training's own.

MFU (model FLOPs utilisation) is tokens/s x training FLOPs per token (`flops.flops_per_token`, with
attention) over the peak of the GPUs that train (`gpus.peak_flops` of the name NVML reports, times
the number of processes). It is left out on the CPU, for a GPU not in the table, and for the
trainers whose steps are mostly generation (GRPO, RLOO, PPO), where 6 x parameters per token does
not describe the work.
"""

from __future__ import annotations

import time

GENERATION_BOUND_TRAINERS = ("grpo", "rloo", "ppo")
ROWS_SAMPLED = 256  # training rows whose length estimates tokens per sample when nothing counts them


def gpu_name(args) -> str | None:
    """The name NVML gives the first visible GPU, when training runs on a GPU."""
    device = getattr(getattr(args, "device", None), "type", None) or "cpu"
    if device == "cpu":
        return None
    from hftui.core.gpu import detect

    gpus = detect()
    return gpus[0].name if gpus else None


def peak_of(args) -> float | None:
    """Peak dense FLOP/s of one of the GPUs that train (bf16, fp16 where there is no bf16)."""
    from hftui.core.gpus import peak_flops

    name = gpu_name(args)
    return peak_flops(name) if name else None


def model_shape(model) -> tuple[int, int]:
    """(layers, hidden size) of the model's text config; (0, 0) when unreadable."""
    if model is None:
        return 0, 0
    try:
        from hftui.core.train.model_facts import facts_from_model

        facts = facts_from_model(model)
        return facts.num_layers, facts.hidden_size
    except Exception:
        return 0, 0


def row_tokens(dataset, max_length: int | None = None) -> tuple[float | None, int]:
    """(mean tokens per training row, sequences per row) from the first rows of a tokenized
    dataset; preference pairs run two sequences (prompt + chosen, prompt + rejected). Falls back
    to `max_length` when the rows cannot be read."""
    try:
        columns = list(getattr(dataset, "column_names", None) or [])
        ids = [c for c in columns if c == "input_ids" or c.endswith("_input_ids")]
        if ids:
            rows = dataset.select(range(min(ROWS_SAMPLED, len(dataset))))
            pairs = "chosen_input_ids" in ids and "rejected_input_ids" in ids
            total, n = 0, 0
            for col in ids:
                lengths = [len(r) for r in rows[col]]
                n = max(n, len(lengths))
                total += sum(lengths) * (2 if pairs and col == "prompt_input_ids" else 1)
            if n:
                return total / n, 2 if pairs else 1
    except Exception:
        pass
    return (float(max_length), 1) if max_length else (None, 1)


class SpeedMeter:
    """Speed between logging steps; `begin` once per `train()`, `measure` at each log."""

    def __init__(self, info: dict):
        self.info = info
        self.last_time: float | None = None
        self.last_step = 0
        self.last_counted: float | None = None  # the Trainer's num_input_tokens_seen at the last log
        self.last_logged: float | None = None  # the trainer's own num_tokens at the last log
        self.paused = 0.0  # seconds of evaluating and saving since the last log
        self.pause_from: float | None = None
        self.per_row: float | None = None
        self.sequences = 1
        self.layers = self.hidden = 0
        self.peak: float | None = None

    def begin(self, args, state, model=None, train_dataloader=None) -> None:
        self.last_time, self.last_step = time.time(), state.global_step
        self.paused, self.pause_from = 0.0, None
        # restored with the checkpoint on resume, so a valid baseline either way
        self.last_counted = getattr(state, "num_input_tokens_seen", 0) or 0
        # the trainer's own count may restart at 0 on resume: measure from the first log on
        self.last_logged = 0 if state.global_step == 0 else None
        dataset = getattr(train_dataloader, "dataset", None)
        self.per_row, self.sequences = row_tokens(dataset, getattr(args, "max_length", None))
        if self.info.get("trainer_type") not in GENERATION_BOUND_TRAINERS:
            self.peak = peak_of(args)
            if self.peak:
                self.layers, self.hidden = model_shape(model)

    def pause(self) -> None:
        """Evaluating or saving starts (or may start) now."""
        if self.pause_from is None:
            self.pause_from = time.time()

    def resume(self) -> None:
        """Training goes on: the pause since `pause()` does not count."""
        if self.pause_from is not None:
            self.paused += max(0.0, time.time() - self.pause_from)
            self.pause_from = None

    def measure(self, args, state, fields: dict) -> dict:
        """samples_per_second, tokens_per_second (tokens_estimated when estimated) and mfu since
        the last log; {} for the first log of a resumed run's trainer count and when no step ran."""
        now = time.time()
        # evaluating or saving announced at this step comes after this log: the time since then
        # went to the step itself (and the log's own wait for the device), so it counts
        announced, self.pause_from = self.pause_from is not None, None
        out: dict = {}
        steps = state.global_step - self.last_step
        dt = (now - self.last_time - self.paused) if self.last_time is not None else 0.0
        counted = getattr(state, "num_input_tokens_seen", 0) or 0
        logged = fields.get("num_tokens")
        if steps > 0 and dt > 0:
            per_step = (int(getattr(args, "per_device_train_batch_size", 1) or 1)
                        * int(getattr(args, "gradient_accumulation_steps", 1) or 1)
                        * int(getattr(args, "world_size", 1) or 1))
            samples = steps * per_step
            out["samples_per_second"] = round(samples / dt, 3)
            tokens, estimated = None, False
            if counted and self.last_counted is not None and counted > self.last_counted:
                tokens = counted - self.last_counted
            elif isinstance(logged, (int, float)) and self.last_logged is not None and logged > self.last_logged:
                tokens = logged - self.last_logged
            elif isinstance(logged, (int, float)) or self.per_row is None:
                tokens = None  # counted by the trainer, but not yet measurable (first log after a resume)
            else:
                tokens, estimated = samples * self.per_row, True
            if tokens:
                out["tokens_per_second"] = round(tokens / dt, 3)
                if estimated:
                    out["tokens_estimated"] = True
                share = self.mfu(tokens / dt, tokens / (samples * self.sequences), args)
                if share is not None:
                    out["mfu"] = float(f"{share:.4g}")
        self.last_time, self.last_step, self.paused = now, state.global_step, 0.0
        if announced:
            self.pause_from = now
        self.last_counted = counted
        if isinstance(logged, (int, float)):
            self.last_logged = logged
        return out

    def mfu(self, tokens_per_second: float, seq: float, args) -> float | None:
        from hftui.core.train.flops import mfu

        params = self.info.get("total_params")
        if not self.peak or not params:
            return None
        processes = int(getattr(args, "world_size", 1) or 1)
        return mfu(tokens_per_second, int(params), self.layers, self.hidden, int(round(seq)), self.peak * processes)
