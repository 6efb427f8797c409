"""Graceful stop: a checkpoint at the next step boundary, on every rank, then exit 130.

A stop is asked for by creating `RUN_DIR/stop` (what `hftui stop` and the live pane do) or by
SIGTERM/SIGINT. Signal handlers only set a flag; the check happens at each step end. With
several processes the ranks agree (all_reduce MAX of the flag), so they all save and stop at
the same step and none waits forever in a collective.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

STOP_FILE = "stop"


class StopTraining(Exception):
    """Raised after the stop checkpoint by trainers whose loop ignores should_training_stop (PPO)."""


class StopRequest:
    """The stop flag of this process: set by a signal, or found as a file at a step end."""

    def __init__(self, run_dir: str | Path | None):
        self.run_dir = Path(run_dir) if run_dir else None
        self._event = threading.Event()
        self.signal_name: str | None = None

    def set(self, reason: str | None = None) -> None:
        self.signal_name = reason or self.signal_name
        self._event.set()

    @property
    def requested_locally(self) -> bool:
        if self._event.is_set():
            return True
        return bool(self.run_dir and (self.run_dir / STOP_FILE).exists())

    def install_signal_handlers(self) -> dict:
        """SIGTERM and SIGINT set the flag instead of killing the process mid-step.

        Returns the handlers they replace, for `restore_signal_handlers`.
        """
        previous: dict = {}
        if threading.current_thread() is not threading.main_thread():
            return previous

        def handler(signum, frame):
            self.set(signal.Signals(signum).name)

        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                previous[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):
                pass
        return previous

    @staticmethod
    def restore_signal_handlers(previous: dict) -> None:
        for sig, handler in previous.items():
            try:
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
            except (ValueError, OSError):
                pass


def agree(flag: bool) -> bool:
    """True on every rank when any rank wants to stop (a no-op with one process)."""
    try:
        import torch
        import torch.distributed as dist
    except ImportError:
        return flag
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return flag
    device = "cpu"
    if dist.get_backend() == "nccl":
        device = f"cuda:{torch.cuda.current_device()}"
    tensor = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())


def make_stop_callback(request: StopRequest, raise_after_save: bool = False):
    """A TrainerCallback that ends training with one checkpoint once a stop is requested.

    `raise_after_save` is for trainers whose loop never reads should_training_stop (PPO): the
    callback raises StopTraining from on_save, right after the checkpoint is written.
    """
    from transformers import TrainerCallback

    class StopCallback(TrainerCallback):
        def __init__(self) -> None:
            self.request = request
            self.stopped_at: int | None = None

        def on_step_end(self, args, state, control, **kwargs):
            if self.stopped_at is not None:
                return control
            if agree(self.request.requested_locally):
                self.stopped_at = state.global_step
                control.should_save = True
                control.should_training_stop = True
                control.should_evaluate = False
            return control

        def on_save(self, args, state, control, **kwargs):
            if raise_after_save and self.stopped_at is not None:
                raise StopTraining(f"stopped at step {self.stopped_at}")
            return control

    return StopCallback()
