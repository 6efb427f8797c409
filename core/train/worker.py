"""The training process: `python -m hftui.core.train.worker RUN_DIR` (one per rank, under torchrun too).

Reads `RUN_DIR/preset.toml` (the resolved preset) and `RUN_DIR/run.json` (`id`, `resume_from`,
`trust_remote_code_allowed`), builds tokenizer, data, model and the trainer the preset names,
and trains. Rank 0 writes `RUN_DIR/events.jsonl`; every rank watches for a stop request.
It exits with the code of the run's final status (`run.folder.exit_code_of`); a failure
prints a one-line error first, then the details.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hftui.core import gpu
from hftui.core import preset as preset_mod
from hftui.core.checks import output_folder
from hftui.core.checks.memory import warning_for
from hftui.core.i18n import _
from hftui.core.problems import PresetError, Problem
from hftui.core.run import liveness
from hftui.core.run import stop as control
from hftui.core.run.events import EventWriter
from hftui.core.train.callbacks import make_events_callback
from hftui.core.run.folder import COMPLETED, EVENTS_FILE, EXIT_FAILED, EXIT_INVALID, EXIT_STOPPED, FAILED, PRESET_FILE, RUN_FILE, STOPPED, exit_code_of
from hftui.core.train import data as data_mod
from hftui.core.train import download_progress
from hftui.core.train import modeling
from hftui.core.train.gpu_sampler import GpuSampler
from hftui.core.train.memory_estimate import estimate
from hftui.core.train.model_facts import facts_from_model
from hftui.core.train.ppo import build_ppo, ppo_trainer_class
from hftui.core.train.summary import error_summary, train_summary
from hftui.core.train.trainer_config import make_config, world_size
from hftui.core.train.trainers import make_trainer



@dataclass
class Built:
    """Everything `train` needs, so tests and the export can look at what the worker made."""

    trainer: Any
    tokenizer: Any
    model: Any
    config: Any
    info: dict = field(default_factory=dict)


def rank() -> int:
    return int(os.environ.get("RANK", "0") or 0)


# -- building ------------------------------------------------------------------------------------
def _file(preset) -> str | None:
    return str(preset.path) if preset.path else None


def build(preset, events_callback=None, stop_callback=None, trust_remote_code_allowed: bool = False) -> Built:
    """Tokenizer, data, model and trainer for the preset (nothing trains yet)."""
    from transformers import set_seed

    ttype, task = preset.trainer_type, preset.task
    seed = int(preset.get("args.seed", 42) or 42)
    tokenizer = modeling.load_tokenizer(preset, trust_remote_code_allowed)
    if ttype == "ppo":
        ppo_trainer_class(preset)  # PPO not installed: validate's one line, before the data is read
        tokenizer.padding_side = "left"
    prepared = data_mod.prepare(preset, tokenizer)
    config = make_config(preset, prepared)
    if ttype != "ppo" and prepared.eval is None and getattr(config, "eval_strategy", "no") != "no":
        raise PresetError([Problem("dataset.eval_split", "error", _("args.eval_strategy = {value} but the dataset has no evaluation split", value=repr(preset.get("args.eval_strategy"))), _('set dataset.eval_split, dataset.eval_fraction (e.g. 0.1), or a data_files entry named eval; or set args.eval_strategy = "no"'))], _file(preset))
    callbacks = [c for c in (events_callback, stop_callback) if c is not None]
    set_seed(seed)
    if ttype == "ppo":
        trainer, policy, info = build_ppo(preset, tokenizer, prepared, config, callbacks, trust_remote_code_allowed)
        return Built(trainer, tokenizer, policy, config, info)
    model_task = modeling.model_task(ttype, task)
    num_labels = 1 if ttype == "reward" else prepared.num_labels
    model = modeling.load_model(preset, tokenizer, model_task, num_labels=num_labels, trust_remote_code_allowed=trust_remote_code_allowed)
    if prepared.label_names and hasattr(model.config, "id2label") and task == "sequence-classification":
        model.config.id2label = dict(enumerate(prepared.label_names))
        model.config.label2id = {n: i for i, n in enumerate(prepared.label_names)}
    facts = _model_facts(model)
    trainer = make_trainer(preset, model, tokenizer, prepared, config, callbacks, trust_remote_code_allowed)
    model = trainer.model
    trainable, total = modeling.count_params(model)
    info = {"trainable_params": trainable, "total_params": total, "perplexity": task == "causal-lm" and ttype in ("trainer", "sft"),
            "model_facts": facts}
    return Built(trainer, tokenizer, model, config, info)


def _model_facts(model):
    """The memory estimate's facts of the base model just built (None if they cannot be read)."""
    try:
        return facts_from_model(model)
    except Exception:
        return None


def memory_warning(preset, facts, gpus: list, backend: str | None = None):
    """The warning `hftui validate` gives when the run will not fit, from the model built here
    (None when it fits, or there is no GPU or nothing to estimate from)."""
    if facts is None or not gpus:
        return None
    try:
        est = estimate(preset, gpus, backend=backend, world_size=world_size(), facts=facts)
    except Exception:
        return None
    return warning_for(preset, est)


# -- running -------------------------------------------------------------------------------------
def resolve_resume(preset, resume_from: str | None, notes: list[str] | None = None) -> str | None:
    """The checkpoint to continue from. With "last", the newest complete one: a newer one that a
    full disk or a kill cut short mid-save is skipped, and a line in `notes` says so."""
    if not resume_from:
        return None
    output_dir = Path(preset.resolve(preset.get("args.output_dir") or preset.output_dir()))
    if resume_from == "last":
        last, skipped = output_folder.last_complete_checkpoint(output_dir) if output_dir.is_dir() else (None, [])
        for path, reason in skipped:
            message = _("skipped {name}: it is incomplete ({reason}), a save cut short by a full disk or a kill", name=path.name, reason=reason)
            if notes is not None:
                notes.append(message)
        if last is None and skipped:
            names = ", ".join(f"{p.name} ({reason})" for p, reason in skipped[:3])
            raise PresetError([Problem("args.output_dir", "error", _("nothing to resume: every checkpoint in {folder} is incomplete: {names}", folder=output_dir, names=names),
                                       _("start the run without --resume (in a new args.output_dir), or copy a complete checkpoint back"))], _file(preset))
        if last is None:
            raise PresetError([Problem("args.output_dir", "error", _("nothing to resume: no checkpoint-* folder in {folder}", folder=output_dir),
                                       _("start the run without --resume, or save checkpoints (args.save_strategy) so a stopped run can continue"))], _file(preset))
        return str(last)
    path = preset.resolve(resume_from)
    if not path.is_dir():
        raise PresetError([Problem("args.resume_from_checkpoint", "error", _("checkpoint folder not found: {path}", path=path),
                                   _("pass a checkpoint-N folder inside the run's output_dir, or use --resume to pick the last one"))], _file(preset))
    reason = output_folder.incomplete(path)
    if reason:
        raise PresetError([Problem("args.resume_from_checkpoint", "error", _("checkpoint {path} is incomplete ({reason}): a save was cut short", path=path, reason=reason),
                                   _("name a complete checkpoint-N folder, or use --resume to pick the last complete one"))], _file(preset))
    return str(path)


def _failure_summary(exc: BaseException, output_dir: str) -> str:
    """The one line a failure ends with; a full disk says what to do rather than how it broke."""
    if output_folder.is_disk_full(exc):
        return _("no space left on the disk holding {folder}: a checkpoint being saved may be incomplete "
                 "(--resume skips it); free some space, then continue with --resume", folder=output_dir)
    return error_summary(exc)


def train(preset, run_dir, resume_from: str | None = None, trust_remote_code_allowed: bool = False, run_id: str | None = None) -> str:
    """Train what the preset describes; returns COMPLETED or STOPPED, raises on failure.

    Whatever happens, rank 0 ends events.jsonl with an `end` event; a failure is re-raised
    (PresetError for the person's mistakes) after that event is written.
    """
    if isinstance(preset, (str, Path)):
        preset = preset_mod.load(preset)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    writer = EventWriter(run_dir / EVENTS_FILE) if rank() == 0 else None
    started = time.time()
    built: Built | None = None
    sampler: GpuSampler | None = None
    status, error = FAILED, None
    previous_handlers: dict = {}
    events_cb = None
    try:
        request = control.StopRequest(run_dir)
        previous_handlers = request.install_signal_handlers()
        info = {
            "preset": preset.name,
            "trainer_type": preset.trainer_type,
            "model": modeling.model_label(preset),
            "run_id": run_id or run_dir.name,
        }
        # a checkpoint named in the preset counts as a resume request the Trainer would ignore
        skipped: list[str] = []
        checkpoint = resolve_resume(preset, resume_from or preset.get("args.resume_from_checkpoint"), skipped)
        for message in skipped:
            if rank() == 0:
                print(f"hftui: {message}", file=sys.stderr, flush=True)
            if writer is not None:
                writer.write("notice", 0, message=message)
        if checkpoint and preset.trainer_type == "ppo":
            raise PresetError([Problem("run.resume_from", "error", _("PPO runs cannot resume from a checkpoint (TRL's PPO trainer has no resume)"), _("start the PPO run again from the beginning"))], _file(preset))
        info["resumed_from"] = checkpoint
        events_cb = make_events_callback(writer, info)
        stop_cb = control.make_stop_callback(request, raise_after_save=preset.trainer_type == "ppo")
        with download_progress.reported(writer):  # Hub downloads show in the pane while STARTING
            built = build(preset, events_cb, stop_cb, trust_remote_code_allowed)
        events_cb.info.update({k: v for k, v in built.info.items() if k != "model_facts"})
        trainable, total = built.info["trainable_params"], built.info["total_params"]
        if rank() == 0:
            print("hftui: " + _("{trainable} of {total} parameters train ({share}%)", trainable=f"{trainable:,}", total=f"{total:,}",
                                share=f"{100.0 * trainable / max(total, 1):.2f}"), flush=True)
        if writer is not None:
            gpus = gpu.detect()
            warning = memory_warning(preset, built.info.get("model_facts"), gpus, _launch_backend(run_dir))
            if warning is not None:
                print("hftui: " + _("warning: {message}; {hint}", message=warning.message, hint=warning.hint), file=sys.stderr, flush=True)
                writer.write("notice", 0, message=_("warning: {message} (fix: {hint})", message=warning.message, hint=warning.hint))
            if gpus:
                sampler = GpuSampler(writer, lambda: built.trainer.state.global_step)
                sampler.start()
            else:
                writer.write("notice", 0, message=_("no GPU: running on CPU"), no_gpu=True)
        try:
            if preset.trainer_type == "ppo":
                built.trainer.train()
            else:
                built.trainer.train(resume_from_checkpoint=checkpoint)
            stopped = stop_cb.stopped_at is not None
        except control.StopTraining:
            stopped = True
        state = built.trainer.state
        if stopped and state.max_steps and state.global_step >= state.max_steps:
            stopped = False  # the request came with the last step: the run is complete
        if stopped:
            status = STOPPED
        else:
            built.trainer.save_model(built.config.output_dir)
            if preset.get("peft.merge") and preset.has("peft"):
                modeling.save_merged(built.trainer.model, built.tokenizer, built.config.output_dir, is_main=rank() == 0)
            status = COMPLETED
        return status
    except BaseException as exc:
        out = str(preset.resolve(preset.get("args.output_dir") or preset.output_dir()))
        error = _failure_summary(exc, out) if not isinstance(exc, KeyboardInterrupt) else _("interrupted")
        raise
    finally:
        control.StopRequest.restore_signal_handlers(previous_handlers)
        if sampler is not None:
            sampler.halt.set()
        if writer is not None:
            state = getattr(built.trainer, "state", None) if built else None
            writer.write(
                "end",
                getattr(state, "global_step", 0) or 0,
                status=status,
                error=error,
                best_metric=getattr(state, "best_metric", None),
                best_checkpoint=getattr(state, "best_model_checkpoint", None),
                output_dir=str(built.config.output_dir) if built else str(preset.resolve(preset.get("args.output_dir") or preset.output_dir())),
                runtime=round(time.time() - started, 3),
                **train_summary(events_cb),
            )
            writer.close()


def _launch_backend(run_dir: Path) -> str | None:
    """The backend the run was launched with (run.json), None outside a run folder."""
    try:
        return _read_run_json(run_dir).get("backend") or None
    except (OSError, ValueError):
        return None


def _read_run_json(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m hftui.core.train.worker RUN_DIR", file=sys.stderr)
        return EXIT_INVALID
    run_dir = Path(argv[0]).resolve()
    liveness.die_with_launcher(run_dir)  # a rank never trains on once its launcher is gone
    run: dict = {}
    try:
        run = _read_run_json(run_dir)
        preset = preset_mod.load(run_dir / PRESET_FILE)
        status = train(
            preset,
            run_dir,
            resume_from=run.get("resume_from"),
            trust_remote_code_allowed=bool(run.get("trust_remote_code_allowed", False)),
            run_id=run.get("id"),
        )
    except PresetError as exc:
        exc = _in_the_persons_words(exc, run_dir, run.get("preset_path"))
        print(_("error: {error}", error=error_summary(exc)), file=sys.stderr)
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(_("error: {error}", error=_("interrupted")), file=sys.stderr)
        return EXIT_STOPPED
    except BaseException as exc:  # the caller captures stderr into log.txt
        print(_("error: {error}", error=_failure_summary(exc, str(run_dir.parent.parent))), file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_FAILED
    finally:
        _close_process_group()
    return exit_code_of(status)


def _in_the_persons_words(exc: PresetError, run_dir: Path, preset_path: str | None) -> PresetError:
    """Problems of the run's resolved copy (`RUN_DIR/preset.toml`) named in the person's own preset
    file: its key, without the copy's line numbers, which are not theirs."""
    copy = str(run_dir / PRESET_FILE)
    if not preset_path:
        return exc
    moved = [replace(p, file=preset_path, line=None) if p.file in (copy, None, "") else p for p in exc.problems]
    return PresetError(moved, preset_path)


def _close_process_group() -> None:
    """Leave the process group before exiting: a rank that exits with it open can abort in its
    communication threads' teardown ("terminate called without an active exception"), which
    leaves the other machine's launcher waiting."""
    dist = sys.modules.get("torch.distributed")
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    except Exception:
        pass


if __name__ == "__main__":
    sys.exit(main())
