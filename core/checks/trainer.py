"""[trainer], [grpo] and [ppo]: a trainer type that can learn the model's task, metrics that mean
something for it, the rewards GRPO and RLOO score answers with, and the reward and value models
PPO needs."""

from __future__ import annotations

import difflib

from hftui.core import extras
from hftui.core.i18n import N_, _
from hftui.core.options import sections as schema
from hftui.core.preset import Preset

from hftui.core.train.modeling import GENERATING_TRAINER_TYPES
from hftui.core.train.rewards import NEEDS_SOLUTION, REWARD_FUNCTIONS

from hftui.core.checks.model import check_model_ref
from hftui.core.checks.report import Report
from hftui.core.checks.values import kind, show

_TRAIN_REWARD_FIRST = N_('train it before this run: a preset with trainer.type = "reward" whose output_dir is this folder '
                       "(see presets/reward.toml); or use a Hub id")


def check_trainer(rep: Report, preset: Preset) -> None:
    ttype = preset.get("trainer.type", "sft")
    task = preset.get("model.task", "causal-lm")
    missing = extras.trainer_missing(ttype)
    if missing:
        rep.error("trainer.type", missing)
    if isinstance(ttype, str) and isinstance(task, str) and task in schema.TASKS:
        if ttype in ("sft", *GENERATING_TRAINER_TYPES) and task != "causal-lm":
            rep.error("trainer.type", _("trainer.type = {type} trains causal language models, but model.task = {task}", type=show(ttype), task=show(task)),
                      _('use trainer.type = "trainer" for this task, or model.task = "causal-lm"'))
        if ttype == "reward" and task == "seq2seq-lm":
            rep.error("trainer.type", _('a reward model scores text with a classification head; model.task = "seq2seq-lm" cannot be one'),
                      _('use model.task = "causal-lm" (the base model) or "sequence-classification"'))
    if task == "sequence-classification":
        label = preset.get("dataset.label_column", "label")
        if isinstance(label, str) and not label.strip():
            rep.error("dataset.label_column", _("sequence-classification needs a label column, but label_column is empty"),
                      _('set label_column = "label" (the column with the class of each row)'))
    check_grpo(rep, preset)
    metrics = preset.get("trainer.metrics")
    if isinstance(metrics, list):
        _check_metrics(rep, metrics, ttype, task)
        scored = [m for m in metrics if isinstance(m, str) and m != "perplexity"]
        if ttype == "trainer" and task == "seq2seq-lm" and scored and preset.get("args.predict_with_generate") is False:
            rep.warning("args.predict_with_generate", _("predict_with_generate = false, but {metrics} compare the text the model writes: "
                                                        "without generation they score its teacher-forced guesses, one token at a time",
                                                        metrics=", ".join(scored)),
                        _("remove predict_with_generate (hftui turns it on when seq2seq metrics are set)"))


def _check_metrics(rep: Report, metrics: list, ttype: object, task: object) -> None:
    for i, m in enumerate(metrics):
        if not isinstance(m, str):
            rep.error("trainer.metrics", _("metric #{number} is {kind} {value}, not a name", number=i + 1, kind=kind(m), value=show(m)),
                      _('write metrics = ["accuracy"]'))
        elif m not in schema.METRIC_NAMES:
            close = difflib.get_close_matches(m.lower(), schema.METRIC_NAMES, n=1, cutoff=0.5)
            known = ", ".join(schema.METRIC_NAMES)
            rep.error("trainer.metrics", _("unknown metric {name}", name=repr(m)),
                      _("did you mean {name}? hftui computes: {known}", name=repr(close[0]), known=known) if close
                      else _("hftui computes: {known}", known=known))
        elif isinstance(task, str) and m not in schema.METRICS_BY_TASK.get(task, schema.METRIC_NAMES):
            rep.warning("trainer.metrics", _("metric {name} does not mean much for {task}", name=repr(m), task=task),
                        _("for {task} use: {metrics}", task=task, metrics=", ".join(schema.METRICS_BY_TASK.get(task, ()))))
    if metrics and ttype in GENERATING_TRAINER_TYPES:
        rep.warning("trainer.metrics", _("{trainer} logs its own measures (rewards, margins): the metrics are ignored", trainer=str(ttype).upper()),
                    _("remove metrics"))
    if metrics and ttype == "sft" and any(m != "perplexity" for m in metrics if isinstance(m, str)):
        rep.warning("trainer.metrics", _("SFT logs its own eval_mean_token_accuracy and hftui adds eval_perplexity; other metrics are ignored"),
                    _('remove metrics, or use trainer.type = "trainer" for task metrics'))


def check_ppo(rep: Report, preset: Preset) -> None:
    ppo = preset.get("ppo")
    ttype = preset.get("trainer.type")
    if ttype == "ppo":
        missing = "error" if rep.for_run else "warning"
        reward = preset.get("ppo.reward_model")
        if not reward:
            rep.error("ppo.reward_model", _("PPO needs a reward model, but ppo.reward_model is not set"),
                      _('add [ppo] with reward_model = "runs/my-reward-model" (a folder trained with trainer.type = "reward") or a Hub id'))
        elif isinstance(reward, str):
            check_model_ref(rep, preset, "ppo.reward_model", reward, N_("reward model"), missing_severity=missing, missing_hint=_(_TRAIN_REWARD_FIRST))
        value = preset.get("ppo.value_model")
        if isinstance(value, str) and value and value != reward:
            check_model_ref(rep, preset, "ppo.value_model", value, N_("value model"), missing_severity=missing, missing_hint=_(_TRAIN_REWARD_FIRST))
    elif isinstance(ppo, dict) and ppo:
        rep.warning("ppo", _("[ppo] is ignored: trainer.type is {type}", type=show(ttype or "sft")), _('remove [ppo], or set trainer.type = "ppo"'))


def check_grpo(rep: Report, preset: Preset) -> None:
    """[grpo]: at least one reward, known function names, a reward model that is there, and a
    batch that holds whole groups of generated answers."""
    grpo = preset.get("grpo")
    ttype = preset.get("trainer.type")
    if ttype not in schema.REWARD_TRAINER_TYPES:
        if isinstance(grpo, dict) and grpo:
            rep.warning("grpo", _("[grpo] is ignored: trainer.type is {type}", type=show(ttype or "sft")), _('remove [grpo], or set trainer.type = "grpo"'))
        return
    grpo = grpo if isinstance(grpo, dict) else {}
    reward = grpo.get("reward_model")
    names = grpo.get("reward_functions") or []
    names = [names] if isinstance(names, str) else names
    if not reward and not names:
        rep.error("grpo", _("{trainer} scores the answers it writes, but [grpo] names no reward_model and no reward_functions", trainer=ttype),
                  _('add [grpo] with reward_functions = ["{first}"] (shipped: {shipped}) '
                    'and/or reward_model = "runs/reward" (a folder trained with trainer.type = "reward")',
                    first=next(iter(REWARD_FUNCTIONS)), shipped=", ".join(REWARD_FUNCTIONS)))
    if isinstance(reward, str) and reward:
        missing = "error" if rep.for_run else "warning"
        check_model_ref(rep, preset, "grpo.reward_model", reward, N_("reward model"), missing_severity=missing, missing_hint=_(_TRAIN_REWARD_FIRST))
        folder = preset.resolve(reward)
        if (folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file():
            rep.error("grpo.reward_model", _("reward model folder {folder} holds only LoRA adapters", folder=folder),
                      _("train the reward model with [peft] merge = true and point reward_model at its merged folder"))
    if isinstance(names, list):
        for name in names:
            if isinstance(name, str) and name in REWARD_FUNCTIONS:
                continue
            close = difflib.get_close_matches(str(name), list(REWARD_FUNCTIONS), n=1, cutoff=0.5)
            shipped = ", ".join(REWARD_FUNCTIONS)
            rep.error("grpo.reward_functions", _("unknown reward function {name}", name=show(name)),
                      _("did you mean {name}? hftui ships: {shipped}", name=repr(close[0]), shipped=shipped) if close
                      else _("hftui ships: {shipped}", shipped=shipped))
        if any(n in NEEDS_SOLUTION for n in names):
            _check_solution_column(rep, preset, [n for n in names if n in NEEDS_SOLUTION])
    _check_groups(rep, preset, str(ttype))


def _check_solution_column(rep: Report, preset: Preset, names: list) -> None:
    """The first record of each local data file holds the solution column the functions read."""
    from hftui.core.checks.data import first_record
    from hftui.core.train.data import resolve_data_files, solution_column

    column = solution_column(preset)
    files, _sources = resolve_data_files(preset)
    entries = files.items() if isinstance(files, dict) else [("train", files)] if files else []
    for split, value in entries:
        for path in (value if isinstance(value, list) else [value]):
            p = preset.resolve(str(path))
            if not p.is_file():
                continue
            columns, _problem = first_record(p)
            if columns is not None and column not in columns:
                rep.error("grpo.solution_column", _("the {split} file {file} has no column {column}, which {functions} compare the answers with",
                                                    split=split, file=p.name, column=repr(column), functions=", ".join(names)),
                          _("set grpo.solution_column to the column with the right answers (columns there: {columns})",
                            columns=", ".join(columns[:12])))


def _check_groups(rep: Report, preset: Preset, ttype: str) -> None:
    """GRPO/RLOO compare num_generations answers per prompt: a batch must hold whole groups."""
    from hftui.core.options.catalog import cached_catalog

    cat = cached_catalog(ttype, preset.task)
    args = preset.section("args")

    def arg(name: str):
        value = args.get(name)
        if value is None and cat is not None and name in cat.args:
            value = cat.args[name].default
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    gens, batch, gas = arg("num_generations"), arg("per_device_train_batch_size"), arg("gradient_accumulation_steps") or 1
    if gens is None or batch is None:
        return
    if gens < 2:
        rep.error("args.num_generations", _("num_generations = {count}: {trainer} compares answers to the same prompt, so it needs at least 2",
                                            count=gens, trainer=ttype), _("set num_generations = 4 or more"))
    elif (batch * gas) % gens:
        rep.error("args.num_generations", _("per_device_train_batch_size × gradient_accumulation_steps = {batch} is not a multiple of "
                                            "num_generations = {count}: every batch must hold whole groups of answers to one prompt",
                                            batch=batch * gas, count=gens),
                  _("set per_device_train_batch_size to a multiple of {count} (e.g. {example})", count=gens, example=gens * max(1, batch // gens)))
