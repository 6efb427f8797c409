"""Models and tokenizers for a preset: from the Hub, a local folder, or built fresh offline.

`[model.scratch]` builds a model from `AutoConfig.for_model(architecture, ...)` with a byte-level
tokenizer made on the spot, so every trainer type can run with no network at all. Loading
failures a person can fix (missing folder, unknown id while offline, unknown architecture,
remote code not allowed) become `PresetError`s naming the key and the fix.

`byte_tokenizer` is written self-contained on purpose: `export.export_python` copies its source
into the exported script, so the script builds exactly the same tokenizer without hftui.
"""

from __future__ import annotations

import copy
from typing import Any

from hftui.core.i18n import N_, _
from hftui.core.options.paths import looks_local
from hftui.core.options.sections import PEFT_METHODS, SECTION_FIELDS
from hftui.core.problems import PresetError, Problem
from hftui.core.run.folder import MERGED_SUBDIR
from hftui.core.train import quantize

# Keys of [model.scratch] that are hftui's own (architecture, tokenizer), not config fields.
SCRATCH_OWN_KEYS = tuple(SECTION_FIELDS["model.scratch"])
# len(byte_tokenizer()): its 4 specials and 256 byte tokens, known without building it.
BYTE_TOKENIZER_VOCAB = 260


def byte_tokenizer():
    """A byte-level tokenizer: 4 specials (<pad>, <s>, </s>, <unk>) then the 256 byte tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {tok: i for i, tok in enumerate(specials)}
    for ch in alphabet:
        vocab[ch] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=1 << 20,
    )
    fast.chat_template = (
        "{% for message in messages %}"
        "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
        "{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
    )
    return fast


def scratch_setting(scratch: dict, key: str) -> str:
    """[model.scratch]'s architecture or tokenizer as written, else the field's default."""
    return str(scratch.get(key) or SECTION_FIELDS["model.scratch"][key].default)


def _problem(path: str, message: str, hint: str, preset) -> PresetError:
    file = str(preset.path) if preset.path else None
    return PresetError([Problem(path, "error", message, hint, None, file)], file)


def _is_offline() -> bool:
    import os

    return any(os.environ.get(k, "").lower() in ("1", "true", "yes") for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _source(preset) -> tuple[str, str]:
    """("scratch", tokenizer spec) or ("pretrained", name_or_path)."""
    scratch = preset.section("model").get("scratch")
    if isinstance(scratch, dict):
        return "scratch", scratch_setting(scratch, "tokenizer")
    name = preset.get("model.name_or_path")
    if not name:
        raise _problem("model.name_or_path", _("no model given"), _("set model.name_or_path to a Hub id or a local folder, or add a [model.scratch] table"), preset)
    return "pretrained", str(name)


def local_or_hub(preset, value: str, key: str) -> str:
    """A local path (resolved against the preset folder) when it exists, else the Hub id as is."""
    p = preset.resolve(value)
    if p.exists():
        return str(p)
    if looks_local(value):
        raise _problem(key, _("folder not found: {path}", path=p), _("check the path (relative paths start at the preset's folder), or train it first"), preset)
    return value


_CANNOT_LOAD = {"tokenizer": N_("cannot load the tokenizer {name}: {error}"), "model": N_("cannot load the model {name}: {error}"),
                "model config": N_("cannot load the model config {name}: {error}")}


def _load_error(exc: Exception, key: str, what: str, preset) -> PresetError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if _is_offline() or "offline" in text.lower() or "couldn't connect" in text.lower() or "connection" in text.lower():
        hint = _("the machine is offline (HF_HUB_OFFLINE): use a local folder, a model already in the Hugging Face cache, or [model.scratch]")
    elif "not a valid model identifier" in text or "does not appear to have" in text or "404" in text:
        hint = _("check the spelling of the Hub id (owner/name) or the local folder; private models need HF_TOKEN in the environment")
    else:
        hint = _("check the id or folder; private models need HF_TOKEN in the environment")
    return _problem(key, _(_CANNOT_LOAD[what], name=str(preset.get(key) or ""), error=text[:300]), hint, preset)


def load_tokenizer(preset, trust_remote_code_allowed: bool = False):
    kind, spec = _source(preset)
    if kind == "scratch":
        if spec == "byte":
            tok = byte_tokenizer()
        else:
            path = local_or_hub(preset, spec, "model.scratch.tokenizer")
            tok = _auto_tokenizer(path, "model.scratch.tokenizer", preset, trust_remote_code_allowed)
    else:
        path = local_or_hub(preset, spec, "model.name_or_path")
        tok = _auto_tokenizer(path, "model.name_or_path", preset, trust_remote_code_allowed)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    return tok


def _auto_tokenizer(path: str, key: str, preset, trust_remote_code_allowed: bool):
    from transformers import AutoTokenizer

    kwargs: dict[str, Any] = {"trust_remote_code": _trust(preset, trust_remote_code_allowed)}
    if preset.get("model.revision") and key == "model.name_or_path":
        kwargs["revision"] = preset.get("model.revision")
    try:
        return AutoTokenizer.from_pretrained(path, **kwargs)
    except PresetError:
        raise
    except Exception as exc:  # OSError, ValueError, HF hub errors
        raise _load_error(exc, key, "tokenizer", preset) from None


def _trust(preset, allowed: bool) -> bool:
    wanted = bool(preset.get("model.trust_remote_code", False))
    if wanted and not allowed:
        raise _problem(
            "model.trust_remote_code",
            _("this preset runs Python code shipped with the model (trust_remote_code = true), which was not allowed for this run"),
            _("re-run with --trust-remote-code if you trust the model's author, or set model.trust_remote_code = false"),
            preset,
        )
    return wanted


# Trainer types whose model is a language model that writes answers.
GENERATING_TRAINER_TYPES = ("dpo", "grpo", "rloo", "ppo")

AUTO_CLASSES = {
    "causal-lm": "AutoModelForCausalLM",
    "sequence-classification": "AutoModelForSequenceClassification",
    "seq2seq-lm": "AutoModelForSeq2SeqLM",
}


def model_task(trainer_type: str, task: str) -> str:
    """The task of the model a trainer type trains: a reward model scores, a policy (DPO, GRPO,
    RLOO, PPO) generates."""
    if trainer_type == "reward":
        return "sequence-classification"
    if trainer_type in GENERATING_TRAINER_TYPES:
        return "causal-lm"
    return task


def auto_class(preset, task: str):
    """The transformers Auto class that builds a model for `task`."""
    import transformers

    cls_name = AUTO_CLASSES.get(task)
    if cls_name is None:
        raise _problem("model.task", _("unknown task {task}", task=repr(task)), _("use one of {names}", names=", ".join(AUTO_CLASSES)), preset)
    return getattr(transformers, cls_name)


def _dtype(preset):
    import torch

    name = preset.get("model.dtype", "auto") or "auto"
    if name == "auto":
        return "auto"
    return getattr(torch, str(name))


def scratch_config(preset, tokenizer, task: str, num_labels: int | None = None):
    """The AutoConfig of [model.scratch], with vocabulary and special ids from the tokenizer.

    Without a tokenizer (the memory estimate builds none) a byte tokenizer's vocabulary is
    assumed: the special ids change no parameter count.
    """
    from transformers import AutoConfig

    scratch = dict(preset.section("model").get("scratch") or {})
    arch = scratch_setting(scratch, "architecture")
    extra = {k: v for k, v in scratch.items() if k not in SCRATCH_OWN_KEYS}
    if tokenizer is not None:
        extra.setdefault("vocab_size", len(tokenizer))
        for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
            value = getattr(tokenizer, name, None)
            if value is not None:
                extra.setdefault(name, value)
        if task == "seq2seq-lm":
            extra.setdefault("decoder_start_token_id", tokenizer.pad_token_id)
    elif scratch_setting(scratch, "tokenizer") == "byte":
        extra.setdefault("vocab_size", BYTE_TOKENIZER_VOCAB)
    if num_labels is not None:
        extra["num_labels"] = num_labels
    try:
        return AutoConfig.for_model(arch, **extra)
    except ValueError as exc:
        raise _problem("model.scratch.architecture", _("unknown architecture {arch}: {error}", arch=repr(arch), error=str(exc).splitlines()[0][:200]), _("use an AutoConfig model_type such as llama, gpt2, bert, t5, qwen2"), preset) from None
    except TypeError as exc:
        raise _problem("model.scratch", _("bad config key for {arch}: {error}", arch=arch, error=exc), _("keys of [model.scratch] other than architecture/tokenizer go to the model's config"), preset) from None


def model_config(preset, task: str, num_labels: int | None = None, tokenizer=None, trust_remote_code: bool = False):
    """The config of the preset's [model]: built from [model.scratch], or read from the Hub or a
    folder. Reading one runs the model's own configuration code only with `trust_remote_code`."""
    kind, spec = _source(preset)
    if kind == "scratch":
        return scratch_config(preset, tokenizer, task, num_labels)
    from transformers import AutoConfig

    path = local_or_hub(preset, spec, "model.name_or_path")
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if preset.get("model.revision"):
        kwargs["revision"] = preset.get("model.revision")
    if num_labels is not None:
        kwargs["num_labels"] = num_labels
    try:
        return AutoConfig.from_pretrained(path, **kwargs)
    except Exception as exc:  # OSError, ValueError (remote code refused), HF hub errors
        raise _load_error(exc, "model.name_or_path", "model config", preset) from None


def attn_implementation(preset) -> str | None:
    """[model] attn_implementation as written; None leaves transformers' choice (sdpa where the
    architecture has it)."""
    value = preset.get("model.attn_implementation")
    return str(value) if value else None


def _refuse_qlora(preset, scratch: bool) -> None:
    import torch

    problems = quantize.missing(torch.cuda.is_available(), scratch)
    if problems:
        file = str(preset.path) if preset.path else None
        raise PresetError([Problem("peft.method", "error", m, h, None, file) for m, h in problems], file)


def load_model(preset, tokenizer, task: str | None = None, num_labels: int | None = None, trust_remote_code_allowed: bool = False, source: str | None = None, key: str = "model.name_or_path"):
    """The model for `task` (defaults to the preset's), from [model.scratch], the Hub or a folder.

    `source` loads another model of the preset (a PPO reward or value model) instead of [model].
    """
    task = task or preset.task
    auto = auto_class(preset, task)
    if source is None:
        kind, spec = _source(preset)
    else:
        kind, spec = "pretrained", source
    attention = attn_implementation(preset)
    extra: dict[str, Any] = {"attn_implementation": attention} if attention else {}
    qlora = source is None and quantize.is_qlora(preset)
    if qlora:
        _refuse_qlora(preset, kind == "scratch")
    if kind == "scratch":
        config = scratch_config(preset, tokenizer, task, num_labels)
        try:
            model = auto.from_config(config, **extra)
        except ValueError as exc:
            raise _problem("model.scratch.architecture", _("{arch} has no {task} model: {error}", arch=config.model_type, task=task, error=str(exc).splitlines()[0][:200]), _("pick an architecture that supports this task (llama/gpt2 for causal-lm and classification, t5/bart for seq2seq-lm)"), preset) from None
        dtype = _dtype(preset)
        return model if dtype == "auto" else model.to(dtype)
    path = local_or_hub(preset, spec, key)
    kwargs: dict[str, Any] = {"trust_remote_code": _trust(preset, trust_remote_code_allowed), "dtype": _dtype(preset), **extra}
    if qlora:
        kwargs.update(quantize.load_kwargs())
    if preset.get("model.revision") and source is None:
        kwargs["revision"] = preset.get("model.revision")
    if num_labels is not None:
        kwargs["num_labels"] = num_labels
    try:
        model = auto.from_pretrained(path, **kwargs)
    except PresetError:
        raise
    except Exception as exc:
        raise _load_error(exc, key, "model", preset) from None
    if getattr(model.config, "pad_token_id", None) is None and tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return quantize.prepare(model) if qlora else model


PEFT_TASK_TYPES = {"causal-lm": "CAUSAL_LM", "sequence-classification": "SEQ_CLS", "seq2seq-lm": "SEQ_2_SEQ_LM"}
LORA_DEFAULTED = ("r", "lora_alpha", "lora_dropout", "target_modules")
# Keys of [peft] that are hftui's own, not LoraConfig fields.
PEFT_OWN_KEYS = ("method", "merge")


def lora_kwargs(preset, task: str) -> dict:
    """peft.LoraConfig's fields from [peft], with [peft]'s documented defaults where it is silent."""
    kwargs = {k: v for k, v in preset.section("peft").items() if k not in PEFT_OWN_KEYS}
    for name in LORA_DEFAULTED:
        kwargs.setdefault(name, SECTION_FIELDS["peft"][name].default)
    kwargs["task_type"] = PEFT_TASK_TYPES.get(task, "CAUSAL_LM")
    return kwargs


def lora_config(preset, task: str | None = None):
    """peft.LoraConfig from [peft]; None when the preset has no [peft] table."""
    if not preset.has("peft"):
        return None
    from peft import LoraConfig

    method = preset.section("peft").get("method", "lora")
    if method not in PEFT_METHODS:
        raise _problem("peft.method", _("unknown PEFT method {method}", method=repr(method)), _("use one of: {names}", names=", ".join(PEFT_METHODS)), preset)
    try:
        return LoraConfig(**lora_kwargs(preset, task or preset.task))
    except TypeError as exc:
        raise _problem("peft", _("bad [peft] key: {error}", error=exc), _("see peft.LoraConfig for the fields"), preset) from None


def apply_peft(model, preset, task: str | None = None):
    """Wrap `model` with LoRA adapters when [peft] is present; returns the model either way.
    For the transformers Trainer only: TRL's trainers take the LoraConfig as `peft_config=`."""
    config = lora_config(preset, task)
    if config is None:
        return model
    from peft import get_peft_model

    return get_peft_model(model, config)


def save_merged(model, tokenizer, output_dir: str, is_main: bool = True):
    """Save the LoRA model with its adapters merged in, to `output_dir/merged`: a plain model
    folder that GRPO, PPO or `from_pretrained` load like any other. Returns the folder."""
    import os

    folder = os.path.join(str(output_dir), MERGED_SUBDIR)
    if not hasattr(model, "merge_and_unload"):
        return None
    merged = copy.deepcopy(model).merge_and_unload()
    if is_main:
        merged.save_pretrained(folder)
        if tokenizer is not None:
            tokenizer.save_pretrained(folder)
    return folder


def count_params(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = total = 0
    for p in model.parameters():
        n = getattr(p, "ds_numel", None) or p.numel()  # ZeRO-3 keeps only a shard on each rank
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total


def reference_copy(model):
    """A frozen copy of the policy for PPO's KL penalty."""
    ref = copy.deepcopy(model)
    for p in ref.parameters():
        p.requires_grad_(False)
    return ref.eval()


def pin_reference(model) -> None:
    """GRPO and RLOO load their frozen reference from the model's name; a model built from
    [model.scratch] has none, so its starting weights are saved to a temporary folder (removed
    at exit) and named there."""
    if getattr(model.config, "_name_or_path", ""):
        return
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="hftui-reference-")
    atexit.register(shutil.rmtree, folder, True)
    model.save_pretrained(folder)
    model.config._name_or_path = folder


def model_label(preset) -> str:
    scratch = preset.section("model").get("scratch")
    if isinstance(scratch, dict):
        return f"scratch:{scratch_setting(scratch, 'architecture')}"
    return str(preset.get("model.name_or_path") or "")
