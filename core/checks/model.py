"""[model] and [model.scratch]: a model that can be built or found, and the folders or Hub ids
that name other models (reward and value models), checked the same way."""

from __future__ import annotations

import difflib

from hftui.core.i18n import N_, _
from hftui.core.options import sections as schema
from hftui.core.options.paths import MODEL_OUTPUT_KEYS, beside_output_dir, looks_local
from hftui.core.preset import Preset

from hftui.core.checks import hub, installed, machine
from hftui.core.checks.model_fit import check_model_fit
from hftui.core.checks.report import Report
from hftui.core.checks.values import check_value, show

_COMMON_ARCHITECTURES = ("llama", "gpt2", "qwen2", "mistral", "bert", "t5", "bart")


def check_model(rep: Report, preset: Preset) -> None:
    model = preset.get("model")
    if model is None:
        rep.error("model", _("the preset has no [model] section"), _('add [model] with name_or_path = "gpt2" (or a [model.scratch] table)'))
        return
    if not isinstance(model, dict):
        return
    scratch = isinstance(model.get("scratch"), dict)
    name = model.get("name_or_path")
    if not scratch and not name:
        rep.error("model.name_or_path", _("no model given: name_or_path is empty and there is no [model.scratch]"),
                  _('set name_or_path = "gpt2" (a Hub id or a local folder), or add [model.scratch] to build a fresh model'))
    elif scratch and name:
        rep.warning("model.name_or_path", _("both name_or_path and [model.scratch] are set: [model.scratch] builds the model and name_or_path is ignored"),
                    _("remove one of them"))
    elif isinstance(name, str) and name:
        check_model_ref(rep, preset, "model.name_or_path", name, N_("model"))
    if model.get("trust_remote_code") is True:
        rep.warning("model.trust_remote_code", _("trust_remote_code = true runs Python code downloaded with the model"),
                    _("`hftui run` refuses it unless you pass --trust-remote-code; only use it for models you trust"))
    if "num_labels" in model and preset.task != "sequence-classification":
        rep.warning("model.num_labels", _("num_labels is only used by sequence-classification, not {task}", task=preset.task), _("remove num_labels"))
    if model.get("dtype") == "float16" and not machine.visible_gpus():
        # Half-precision weights train with half-precision optimizer updates, which vanish or
        # blow up (losses in the thousands); on a GPU, mixed precision (args.fp16) avoids this.
        rep.add("model.dtype", "error" if rep.for_run else "warning",
                _('model.dtype = "float16" on a machine without a GPU: the weights and the optimizer\'s updates stay in half precision on the CPU, '
                  "where training diverges (losses in the hundreds or thousands)"),
                _('remove model.dtype (or write "float32") for runs on this machine; on a GPU, keep float32 weights and set args.fp16 = true for mixed precision'))
    check_model_fit(rep, preset)


def check_model_ref(rep: Report, preset: Preset, key: str, value: str, what: str, missing_severity: str = "error", missing_hint: str = "") -> None:
    """A Hub id or a local model folder: the folder must hold a model, the id must be reachable.
    `what`: the English name of the model's role (marked with `N_`), translated here."""
    what = _(what)
    p = preset.resolve_output(value) if key in MODEL_OUTPUT_KEYS else preset.resolve(value)
    if p.exists():
        if not p.is_dir():
            rep.error(key, _("{what} {value} is a file, not a model folder", what=what, value=show(value)),
                      _("point it at the folder that holds config.json"))
        elif not any((p / n).exists() for n in ("config.json", "adapter_config.json")):
            rep.error(key, _("{what} folder {folder} has no config.json: it is not a saved model", what=what, folder=p),
                      _("point it at a folder written by save_pretrained (the output_dir of a finished run)"))
        return
    if looks_local(value) or (key.startswith(("ppo.", "grpo.")) and beside_output_dir(preset.get("args.output_dir"), value)):
        rep.add(key, missing_severity, _("{what} folder not found: {folder}", what=what, folder=p),
                missing_hint or _("check the path (relative paths start at the preset's folder), or train it first"))
        return
    if not hub.is_hub_id(value):
        rep.error(key, _("{value} is neither a Hub id (owner/name) nor an existing folder", value=show(value)),
                  _("write a Hub id like gpt2 or owner/name, or a folder path"))
        return
    if hub.offline() and not hub.in_hub_cache("models", value):
        rep.add(key, missing_severity, _("{what} {value} is not a local folder ({folder}) and not in the Hugging Face cache, and HF_HUB_OFFLINE is set",
                                         what=what, value=show(value), folder=p),
                missing_hint or _("use a local folder, download the model while online, or use [model.scratch]"))


def check_scratch(rep: Report, preset: Preset) -> None:
    scratch = preset.section("model").get("scratch")
    if not isinstance(scratch, dict):
        return
    fields = schema.SECTION_FIELDS["model.scratch"]
    for key in ("architecture", "tokenizer"):
        if key in scratch:
            check_value(rep, f"model.scratch.{key}", scratch[key], fields[key])
    arch = scratch.get("architecture", fields["architecture"].default)
    if isinstance(arch, str):
        _check_architecture(rep, preset, arch)
    tok = scratch.get("tokenizer", "byte")
    if isinstance(tok, str) and tok not in schema.TOKENIZERS:
        p = preset.resolve(tok)
        if not p.is_dir():
            rep.error("model.scratch.tokenizer", _('tokenizer {value} is neither "byte" nor a folder ({folder} not found)', value=show(tok), folder=p),
                      _('write tokenizer = "byte" (built offline) or the path of a saved tokenizer folder'))
    for key, f in schema.SCRATCH_CONFIG_FIELDS.items():
        if key in scratch:
            check_value(rep, f"model.scratch.{key}", scratch[key], f)
    h, heads = scratch.get("hidden_size"), scratch.get("num_attention_heads")
    if isinstance(h, int) and isinstance(heads, int) and not isinstance(h, bool) and h > 0 and heads > 0 and h % heads:
        rep.error("model.scratch.num_attention_heads", _("hidden_size {size} is not divisible by num_attention_heads {heads}", size=h, heads=heads),
                  _("pick a number of heads that divides hidden_size (e.g. 4 for 64)"))


def _check_architecture(rep: Report, preset: Preset, arch: str) -> None:
    known = installed.model_types()
    if known and arch not in known:
        close = difflib.get_close_matches(arch, sorted(known), n=1, cutoff=0.6)
        rep.error("model.scratch.architecture", _("unknown architecture {name}: not a model_type of the installed transformers", name=show(arch)),
                  _("did you mean {name}? use an AutoConfig model_type such as llama, gpt2, bert, t5, qwen2", name=show(close[0])) if close
                  else _("use an AutoConfig model_type such as llama, gpt2, bert, t5, qwen2"))
    task = "sequence-classification" if preset.trainer_type == "reward" else preset.task
    able = installed.task_architectures().get(task)
    if known and arch in known and able and arch not in able:
        common = [a for a in _COMMON_ARCHITECTURES if a in able]
        rep.error("model.scratch.architecture", _("architecture {name} has no {task} model in the installed transformers", name=show(arch), task=task),
                  _("pick one that has: {names}", names=", ".join(common) or ", ".join(sorted(able)[:6])))
