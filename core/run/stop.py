"""Graceful stop, both halves: asking a run to stop, and the trainer honouring it.

A stop is asked for by creating `RUN_DIR/stop` (what `hftui stop`, Ctrl-C in `hftui run` and
the live pane do) or by SIGTERM/SIGINT to the training processes. In the trainer, signal
handlers only set a flag; the check happens at each step end. With several processes the ranks
agree (all_reduce MAX of the flag), so they all save a checkpoint and stop at the same step and
none waits forever in a collective; the worker then exits 130. Only when a stop is not honoured
in time are the process groups killed (`kill_run`, or the supervisor's stop timeout).

torchrun starts each rank in a session of its own, so a kill reaches the ranks one by one, found
by their command line (`liveness.run_processes`); the same search finds what an ended run left
running, which `hftui stop` ends and which keeps a new run (or a resume) out of the folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

from hftui.core.i18n import _
from hftui.core.problems import PresetError, Problem
from hftui.core.run import liveness
from hftui.core.run.folder import RUNS_SUBDIR, STOP_FILE, STOPPING
from hftui.core.run.record import RunRecord, record_lock


# The stop file is looked for this often, off the training thread.
WATCH_S = 0.5
# With several processes the ranks compare stop flags every this many optimizer steps: a stop is
# honoured at most this many steps late, and the other steps pay nothing for it.
AGREE_EVERY = 8


# -- asking -------------------------------------------------------------------------------------
def ask_to_stop(run_dir: str | Path) -> None:
    """Create the stop file: the request every rank and the supervisor look for (in a folder
    deleted while the run trains too: the run still looks at that path)."""
    Path(run_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(Path(run_dir) / STOP_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)


def request_stop(run: RunRecord) -> RunRecord:
    """Ask the run to save a checkpoint and end at the next step boundary."""
    run.refresh()
    if not run.is_active:
        return run
    ask_to_stop(run.run_dir)
    with record_lock(run.run_dir):
        run.reload()
        if run.is_active:
            run.status = STOPPING
            run.save()
    return run


def kill_run(run: RunRecord, grace: float = 5.0) -> RunRecord:
    """SIGTERM, then SIGKILL, to the training processes (and the supervisor if it hangs)."""
    run.reload()
    with contextlib.suppress(OSError):
        ask_to_stop(run.run_dir)
    groups = [g for g in {run.pgid} if g]
    ranks = lambda: liveness.run_processes(run.run_dir)  # noqa: E731  (torchrun's ranks: each in its own session)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for g in groups:
            signal_group(g, sig)
        for pid in ranks():
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.time() + grace
        while time.time() < deadline and (any(group_alive(g) for g in groups) or ranks()):
            time.sleep(0.1)
        if not (any(group_alive(g) for g in groups) or ranks()):
            break
    # the supervisor writes the final status; give it a moment, then make sure it is gone
    deadline = time.time() + grace
    while time.time() < deadline and run.is_alive():
        time.sleep(0.1)
    if run.pid and run.is_alive():
        signal_group(run.pid, signal.SIGKILL)
    return run.refresh()


def stop_leftovers(run: RunRecord, grace: float = 30.0) -> list[int]:
    """End what an ended run left running: asked to stop (a checkpoint, if they still can), then
    killed after `grace` seconds. Returns the pids that were found."""
    pids = liveness.run_processes(run.run_dir)
    if pids:
        kill_run(run, grace=grace)
    return pids


def refuse_leftovers(output_dir: str | Path, file: str | None = None) -> None:
    """Raise PresetError while any process of an earlier run still runs in `output_dir`: two
    trainings would interleave their steps and rotate away each other's checkpoints."""
    found = liveness.processes_of_runs(Path(output_dir) / RUNS_SUBDIR)
    problems = [
        Problem("args.output_dir", "error",
                _("run {id} has ended, but its processes still run in {folder} (pid {pids})", id=run_id, folder=output_dir,
                  pids=", ".join(map(str, sorted(pids)))),
                _("end them with 'hftui stop {id}', then start again", id=run_id), None, file)
        for run_id, pids in sorted(found.items())
    ]
    if problems:
        raise PresetError(problems, file)


def wait_for_end(run: RunRecord, timeout: float | None = None, poll: float = 0.2) -> RunRecord:
    """Block until the run is no longer active (or the timeout passes); returns it refreshed."""
    deadline = None if timeout is None else time.time() + timeout
    while True:
        run.refresh()
        if not run.is_active:
            return run
        if deadline is not None and time.time() >= deadline:
            return run
        time.sleep(poll)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, sig)


# -- honouring, inside the trainer ----------------------------------------------------------------


class StopTraining(Exception):
    """Raised after the stop checkpoint by trainers whose loop ignores should_training_stop (PPO)."""


class StopRequest:
    """The stop flag of this process: set by a signal, or found as a file at a step end."""

    def __init__(self, run_dir: str | Path | None):
        self.run_dir = Path(run_dir) if run_dir else None
        self._event = threading.Event()
        self._watcher: threading.Thread | None = None
        self._unwatched = threading.Event()
        self.signal_name: str | None = None

    def set(self, reason: str | None = None) -> None:
        self.signal_name = reason or self.signal_name
        self._event.set()

    @property
    def requested_locally(self) -> bool:
        if self._event.is_set():
            return True
        return bool(self.run_dir and (self.run_dir / STOP_FILE).exists())

    @property
    def flagged(self) -> bool:
        """The flag alone, for the per-step check: no file stat, no system call."""
        return self._event.is_set()

    def watch_file(self, every: float = WATCH_S) -> None:
        """Look for the stop file in a background thread, so training steps never stat it."""
        if self.run_dir is None or self._watcher is not None:
            return
        if self.requested_locally:  # asked before training began (while the model loaded)
            self.set()

        def watch() -> None:
            while not self._event.wait(every) and not self._unwatched.is_set():
                if (self.run_dir / STOP_FILE).exists():
                    self.set()

        self._watcher = threading.Thread(target=watch, name="hftui-stop-watch", daemon=True)
        self._watcher.start()

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

    def stop_watching(self) -> None:
        """Training is over: the watcher thread ends at its next look."""
        self._unwatched.set()

    @staticmethod
    def restore_signal_handlers(previous: dict) -> None:
        for sig, handler in previous.items():
            try:
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
            except (ValueError, OSError):
                pass


def agree_now(step: int) -> bool:
    """Whether this step is one where the ranks compare their stop flags: every step with one
    process (a flag read costs nothing); with several, the first step (a stop asked while the
    model loaded) and then every AGREE_EVERY steps (an all-reduce and a host sync each time)."""
    try:
        import torch.distributed as dist
    except ImportError:
        return True
    several = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    return not several or step == 1 or step % AGREE_EVERY == 0


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
            request.watch_file()

        def on_step_end(self, args, state, control, **kwargs):
            if self.stopped_at is not None:
                return control
            # Ranks agree every AGREE_EVERY steps (the same steps on every rank, as the collective
            # needs); one process reads its own flag every step. Neither touches the disk here.
            if agree_now(state.global_step) and agree(self.request.flagged):
                self.stopped_at = state.global_step
                control.should_save = True
                control.should_training_stop = True
                control.should_evaluate = False
            return control

        def on_train_end(self, args, state, control, **kwargs):
            self.request.stop_watching()
            return control

        def on_save(self, args, state, control, **kwargs):
            if raise_after_save and self.stopped_at is not None:
                raise StopTraining(f"stopped at step {self.stopped_at}")
            return control

    return StopCallback()
