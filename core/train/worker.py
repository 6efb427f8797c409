"""The training process: `python -m hftui.core.train.worker RUN_DIR` (one per rank, under torchrun too).

Reads `RUN_DIR/preset.toml` (the resolved preset) and `RUN_DIR/run.json` (`id`, `resume_from`,
`trust_remote_code_allowed`), builds tokenizer, data, model and the trainer the preset names,
and trains. Rank 0 writes `RUN_DIR/events.jsonl`; every rank watches for a stop request.
Exit codes: 0 completed, 130 stopped, 1 failed (a one-line error first, then the details).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hftui.core.run.events import EVENTS_FILE, EventWriter
from hftui.core.problems import PresetError, Problem

EXIT_COMPLETED, EXIT_FAILED, EXIT_STOPPED = 0, 1, 130
GPU_SAMPLE_SECONDS = 10.0


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


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


# -- the trainer's config ------------------------------------------------------------------------
def config_kwargs(preset, prepared=None, auto_cpu: bool = True) -> dict:
    """[args] plus the defaults hftui chooses where the preset is silent."""
    from hftui.core.train import data as data_mod
    from hftui.core.train.metrics import needs_generation

    args = dict(preset.section("args"))
    ttype = preset.trainer_type
    args.setdefault("output_dir", str(preset.output_dir()))
    args["output_dir"] = str(preset.resolve(args["output_dir"]))
    args.setdefault("disable_tqdm", True)
    args.setdefault("report_to", "none")
    if auto_cpu and "use_cpu" not in args and not _cuda_available():
        args["use_cpu"] = True  # what the launcher sets too; lets SFTConfig's bf16 default work on CPU
    if ttype in ("sft", "reward"):
        args.setdefault("max_length", data_mod.max_length(preset))
    if ttype == "sft" and prepared is not None:
        for k, v in prepared.config_updates.items():
            args.setdefault(k, v)
    if ttype == "trainer" and preset.task == "seq2seq-lm" and needs_generation(preset):
        args.setdefault("predict_with_generate", True)
        args.setdefault("generation_max_length", data_mod.max_length(preset))
    if ttype == "ppo":
        steps = int(args.pop("max_steps", 0) or 0)
        if steps > 0 and not args.get("total_episodes"):
            per = int(args.get("per_device_train_batch_size", 8)) * int(args.get("gradient_accumulation_steps", 1)) * world_size()
            args["total_episodes"] = steps * per
    return args


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def make_config(preset, prepared=None):
    from hftui.core.options.catalog import load_config_class

    cls = load_config_class(preset.trainer_type, preset.task)
    kwargs = config_kwargs(preset, prepared)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return cls(**kwargs)
    except TypeError as exc:
        raise PresetError([Problem("args", "error", f"{cls.__name__} does not take this option: {exc}", "run hftui validate to see the misspelled key and a suggestion")], _file(preset)) from None
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PresetError([Problem("args", "error", f"{cls.__name__} rejected the options: {first[:400]}", "change the [args] values it names")], _file(preset)) from None


def _file(preset) -> str | None:
    return str(preset.path) if preset.path else None


# -- building ------------------------------------------------------------------------------------
def build(preset, events_callback=None, stop_callback=None, trust_remote_code_allowed: bool = False) -> Built:
    """Tokenizer, data, model and trainer for the preset (nothing trains yet)."""
    from transformers import set_seed

    from hftui.core.train import data as data_mod
    from hftui.core.train import modeling

    ttype, task = preset.trainer_type, preset.task
    seed = int(preset.get("args.seed", 42) or 42)
    tokenizer = modeling.load_tokenizer(preset, trust_remote_code_allowed)
    if ttype == "ppo":
        tokenizer.padding_side = "left"
    prepared = data_mod.prepare(preset, tokenizer)
    config = make_config(preset, prepared)
    if ttype != "ppo" and prepared.eval is None and getattr(config, "eval_strategy", "no") != "no":
        raise PresetError([Problem("dataset.eval_split", "error", f"args.eval_strategy = {preset.get('args.eval_strategy')!r} but the dataset has no evaluation split", "set dataset.eval_split, dataset.eval_fraction (e.g. 0.1), or a data_files entry named eval; or set args.eval_strategy = \"no\"")], _file(preset))
    callbacks = [c for c in (events_callback, stop_callback) if c is not None]
    set_seed(seed)
    if ttype == "ppo":
        return _build_ppo(preset, tokenizer, prepared, config, callbacks, trust_remote_code_allowed)
    if ttype == "reward":
        model = modeling.load_model(preset, tokenizer, "sequence-classification", num_labels=1, trust_remote_code_allowed=trust_remote_code_allowed)
    else:
        model = modeling.load_model(preset, tokenizer, task, num_labels=prepared.num_labels, trust_remote_code_allowed=trust_remote_code_allowed)
    if prepared.label_names and hasattr(model.config, "id2label") and task == "sequence-classification":
        model.config.id2label = dict(enumerate(prepared.label_names))
        model.config.label2id = {n: i for i, n in enumerate(prepared.label_names)}
    facts = _model_facts(model)
    model = modeling.apply_peft(model, preset, "sequence-classification" if ttype == "reward" else task)
    trainable, total = modeling.count_params(model)
    info = {"trainable_params": trainable, "total_params": total, "perplexity": task == "causal-lm" and ttype in ("trainer", "sft"),
            "model_facts": facts}
    trainer = _make_trainer(preset, model, tokenizer, prepared, config, callbacks)
    return Built(trainer, tokenizer, model, config, info)


def _model_facts(model):
    """The memory estimate's facts of the base model just built (None if they cannot be read)."""
    from hftui.core.train import memory_estimate as memory

    try:
        return memory.facts_from_model(model)
    except Exception:
        return None


def memory_warning(preset, facts, gpus: list, backend: str | None = None):
    """The warning `hftui validate` gives when the run will not fit, from the model built here
    (None when it fits, or there is no GPU or nothing to estimate from)."""
    from hftui.core.checks.memory import warning_for
    from hftui.core.train import memory_estimate as memory

    if facts is None or not gpus:
        return None
    try:
        est = memory.estimate(preset, gpus, backend=backend, world_size=world_size(), facts=facts)
    except Exception:
        return None
    return warning_for(preset, est)


def _make_trainer(preset, model, tokenizer, prepared, config, callbacks):
    from hftui.core.train.metrics import build_compute_metrics, preprocess_logits_for_metrics

    ttype, task = preset.trainer_type, preset.task
    common = dict(args=config, train_dataset=prepared.train, eval_dataset=prepared.eval, processing_class=tokenizer, callbacks=callbacks)
    if ttype == "sft":
        from trl import SFTTrainer

        return SFTTrainer(model=model, **common)
    if ttype == "reward":
        from trl import RewardTrainer

        return RewardTrainer(model=model, **common)
    compute = build_compute_metrics(preset, tokenizer, prepared.num_labels)
    if task == "seq2seq-lm":
        from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer

        collator = DataCollatorForSeq2Seq(tokenizer, model=model)
        return Seq2SeqTrainer(model=model, data_collator=collator, compute_metrics=compute, **common)
    from transformers import Trainer

    extra = {}
    if task == "causal-lm" and compute is not None:
        extra["preprocess_logits_for_metrics"] = preprocess_logits_for_metrics
    return Trainer(model=model, data_collator=prepared.collator, compute_metrics=compute, **common, **extra)


def _build_ppo(preset, tokenizer, prepared, config, callbacks, trust_remote_code_allowed):
    import importlib

    from hftui.core.train import modeling

    ppo = preset.section("ppo")
    reward_path = ppo.get("reward_model")
    if not reward_path:
        raise PresetError([Problem("ppo.reward_model", "error", "PPO needs a reward model", "train one with a preset of trainer.type = \"reward\" (see presets/reward.toml) and set ppo.reward_model to its output_dir")], _file(preset))
    value_path = ppo.get("value_model") or reward_path
    policy = modeling.load_model(preset, tokenizer, "causal-lm", trust_remote_code_allowed=trust_remote_code_allowed)
    reward = modeling.load_model(preset, tokenizer, "sequence-classification", num_labels=1, source=str(reward_path), key="ppo.reward_model")
    value = modeling.load_model(preset, tokenizer, "sequence-classification", num_labels=1, source=str(value_path), key="ppo.value_model" if ppo.get("value_model") else "ppo.reward_model")
    peft_config = modeling.lora_config(preset, "causal-lm")
    ref = None if peft_config is not None else modeling.reference_copy(policy)
    trainer_cls = None
    for module in ("trl", "trl.experimental.ppo"):
        try:
            trainer_cls = getattr(importlib.import_module(module), "PPOTrainer", None)
        except ImportError:
            trainer_cls = None
        if trainer_cls is not None:
            break
    if trainer_cls is None:
        raise ImportError("PPOTrainer not found in the installed trl (tried trl and trl.experimental.ppo)")
    evald = prepared.eval if prepared.eval is not None else prepared.train
    trainer = trainer_cls(
        args=config,
        processing_class=tokenizer,
        model=policy,
        ref_model=ref,
        reward_model=reward,
        train_dataset=prepared.train,
        value_model=value,
        eval_dataset=evald,
        callbacks=callbacks,
        peft_config=peft_config,
    )
    trainable, total = modeling.count_params(trainer.policy_model)
    vt, vtotal = modeling.count_params(value)
    info = {"trainable_params": trainable + vt, "total_params": total + vtotal, "perplexity": False}
    return Built(trainer, tokenizer, trainer.policy_model, config, info)


# -- running -------------------------------------------------------------------------------------
def resolve_resume(preset, resume_from: str | None) -> str | None:
    if not resume_from:
        return None
    output_dir = Path(preset.resolve(preset.get("args.output_dir") or preset.output_dir()))
    if resume_from == "last":
        from transformers.trainer_utils import get_last_checkpoint

        last = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
        if last is None:
            raise PresetError([Problem("args.output_dir", "error", f"nothing to resume: no checkpoint-* folder in {output_dir}", "start the run without --resume, or save checkpoints (args.save_strategy) so a stopped run can continue")], _file(preset))
        return last
    path = preset.resolve(resume_from)
    if not path.is_dir():
        raise PresetError([Problem("args.resume_from_checkpoint", "error", f"checkpoint folder not found: {path}", "pass a checkpoint-N folder inside the run's output_dir, or use --resume to pick the last one")], _file(preset))
    return str(path)


class GpuSampler(threading.Thread):
    """Writes a `gpu` event every few seconds while training runs (rank 0, GPUs present)."""

    def __init__(self, writer: EventWriter, step_of, interval: float = GPU_SAMPLE_SECONDS):
        super().__init__(name="hftui-gpu-sampler", daemon=True)
        self.writer, self.step_of, self.interval = writer, step_of, interval
        self.halt = threading.Event()

    def run(self) -> None:
        from hftui.core import gpu

        while not self.halt.is_set():
            devices = gpu.sample()
            if devices:
                self.writer.write("gpu", self.step_of(), devices=devices)
            self.halt.wait(self.interval)


def _summary(exc: BaseException) -> str:
    if isinstance(exc, PresetError):
        first = exc.problems[0] if exc.problems else None
        text = f"{first.where()}: {first.message}" if first else "invalid preset"
        return text + (f" (+{len(exc.problems) - 1} more)" if len(exc.problems) > 1 else "")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    summary = f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__
    if "out of memory" in text.lower():
        from hftui.core.options.catalog import checkpointing_option

        summary += f" (lower args.per_device_train_batch_size or dataset.max_length, or set args.{checkpointing_option()} = true)"
    return summary


def train(preset, run_dir, resume_from: str | None = None, trust_remote_code_allowed: bool = False, run_id: str | None = None) -> str:
    """Train what the preset describes; returns "completed" or "stopped", raises on failure.

    Whatever happens, rank 0 ends events.jsonl with an `end` event; a failure is re-raised
    (PresetError for the person's mistakes) after that event is written.
    """
    from hftui.core import preset as preset_mod

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
    status, error = "failed", None
    previous_handlers: dict = {}
    events_cb = None
    try:
        from hftui.core import gpu
        from hftui.core.run import stop as control
        from hftui.core.run.events import make_events_callback
        from hftui.core.train.modeling import model_label

        request = control.StopRequest(run_dir)
        previous_handlers = request.install_signal_handlers()
        info = {
            "preset": preset.name,
            "trainer_type": preset.trainer_type,
            "model": model_label(preset),
            "run_id": run_id or run_dir.name,
        }
        # a checkpoint named in the preset counts as a resume request the Trainer would ignore
        checkpoint = resolve_resume(preset, resume_from or preset.get("args.resume_from_checkpoint"))
        if checkpoint and preset.trainer_type == "ppo":
            raise PresetError([Problem("run.resume_from", "error", "PPO runs cannot resume from a checkpoint (TRL's PPO trainer has no resume)", "start the PPO run again from the beginning")], _file(preset))
        info["resumed_from"] = checkpoint
        events_cb = make_events_callback(writer, info)
        stop_cb = control.make_stop_callback(request, raise_after_save=preset.trainer_type == "ppo")
        built = build(preset, events_cb, stop_cb, trust_remote_code_allowed)
        events_cb.info.update({k: v for k, v in built.info.items() if k != "model_facts"})
        trainable, total = built.info["trainable_params"], built.info["total_params"]
        if rank() == 0:
            print(f"hftui: {trainable:,} of {total:,} parameters train ({100.0 * trainable / max(total, 1):.2f}%)", flush=True)
        if writer is not None:
            gpus = gpu.detect()
            warning = memory_warning(preset, built.info.get("model_facts"), gpus, _launch_backend(run_dir))
            if warning is not None:
                print(f"hftui: warning: {warning.message}; {warning.hint}", file=sys.stderr, flush=True)
                writer.write("notice", 0, message=f"warning: {warning.message} (fix: {warning.hint})")
            if gpus:
                sampler = GpuSampler(writer, lambda: built.trainer.state.global_step)
                sampler.start()
            else:
                writer.write("notice", 0, message="no GPU: running on CPU")
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
            status = "stopped"
        else:
            built.trainer.save_model(built.config.output_dir)
            status = "completed"
        return status
    except BaseException as exc:
        error = _summary(exc) if not isinstance(exc, KeyboardInterrupt) else "interrupted"
        raise
    finally:
        from hftui.core.run.stop import StopRequest

        StopRequest.restore_signal_handlers(previous_handlers)
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
                **_train_summary(events_cb),
            )
            writer.close()


TRAIN_SUMMARY_KEYS = ("train_runtime", "train_loss", "train_samples_per_second", "train_steps_per_second")


def _train_summary(events_cb) -> dict:
    """The Trainer's own end-of-training figures (its `train_runtime` times the loop alone)."""
    logged = getattr(events_cb, "train_summary", None) or {}
    out = {}
    for key in TRAIN_SUMMARY_KEYS:
        value = logged.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
    return out


def _launch_backend(run_dir: Path) -> str | None:
    """The backend the run was launched with (run.json), None outside a run folder."""
    try:
        return _read_run_json(run_dir).get("backend") or None
    except (OSError, ValueError):
        return None


def _read_run_json(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m hftui.core.train.worker RUN_DIR", file=sys.stderr)
        return 2
    run_dir = Path(argv[0]).resolve()
    try:
        from hftui.core import preset as preset_mod

        run = _read_run_json(run_dir)
        preset = preset_mod.load(run_dir / "preset.toml")
        status = train(
            preset,
            run_dir,
            resume_from=run.get("resume_from"),
            trust_remote_code_allowed=bool(run.get("trust_remote_code_allowed", False)),
            run_id=run.get("id"),
        )
    except PresetError as exc:
        print(f"error: {_summary(exc)}", file=sys.stderr)
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_STOPPED
    except BaseException as exc:  # the caller captures stderr into log.txt
        import traceback

        print(f"error: {_summary(exc)}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_FAILED
    finally:
        _close_process_group()
    return EXIT_STOPPED if status == "stopped" else EXIT_COMPLETED


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
