"""Every option the wizard shows, read from the installed library's config dataclasses.

Names, types, defaults, choices and help come from the installed `TrainingArguments`,
`SFTConfig`, `RewardConfig` and the PPO config, never from a hard-coded table, because
library versions rename and drop options. On top of that sits our curation for the options
a beginner meets: the wizard step, short help in English and Korean, and a ★ where the docs
recommend setting the option.

Reading the dataclasses imports transformers (seconds), so the result is cached per installed
version as JSON in the state directory; `cached_catalog` never imports anything heavy.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hftui.core.fsutil import atomic_write_text, state_dir
from hftui.core.options.rules import arg_limits
from hftui.core.options.sections import Field
from hftui.core.options.steps import guess_step

CACHE_FORMAT = 4

# trainer type -> (import locations tried in order, class name)
CONFIG_CLASSES: dict[str, tuple[tuple[str, ...], str]] = {
    "trainer": (("transformers",), "TrainingArguments"),
    "seq2seq": (("transformers",), "Seq2SeqTrainingArguments"),
    "sft": (("trl",), "SFTConfig"),
    "reward": (("trl",), "RewardConfig"),
    "ppo": (("trl", "trl.experimental.ppo"), "PPOConfig"),
}

# name -> (step, help en, help ko, star). Written by us; shown instead of the long docstring.
CURATED: dict[str, tuple[str, str, str, bool]] = {
    "output_dir": ("training", "Where checkpoints and the final model are written.", "체크포인트와 최종 모델을 저장할 폴더입니다.", True),
    "num_train_epochs": ("training", "How many passes over the training data (ignored when max_steps > 0).", "학습 데이터를 몇 번 반복할지(max_steps > 0이면 무시).", False),
    "max_steps": ("training", "Total optimizer steps; overrides num_train_epochs when > 0.", "전체 옵티마이저 스텝 수. 0보다 크면 num_train_epochs보다 우선합니다.", True),
    "per_device_train_batch_size": ("training", "Training examples per device per step; lower it if you run out of memory.", "장치당 스텝별 학습 샘플 수. 메모리가 부족하면 줄이세요.", True),
    "per_device_eval_batch_size": ("training", "Evaluation examples per device per step.", "장치당 스텝별 평가 샘플 수입니다.", True),
    "gradient_accumulation_steps": ("training", "Add up gradients over N steps: a larger effective batch without more memory.", "N 스텝 동안 그래디언트를 누적해 메모리 증가 없이 배치를 키웁니다.", False),
    "activation_checkpointing": ("training", "Recompute activations in the backward pass: less memory, about 20-30% slower.", "역전파에서 활성값을 재계산해 메모리를 줄입니다(약 20-30% 느려짐).", False),
    "gradient_checkpointing": ("training", "Recompute activations in the backward pass: less memory, about 20-30% slower.", "역전파에서 활성값을 재계산해 메모리를 줄입니다(약 20-30% 느려짐).", False),
    "resume_from_checkpoint": ("training", "A checkpoint folder to continue from (hftui run --resume finds the last one).", "이어서 학습할 체크포인트 폴더(hftui run --resume이 마지막 것을 찾음).", False),
    "dataloader_num_workers": ("training", "Background processes loading data; 0 loads in the main process.", "데이터를 불러오는 백그라운드 프로세스 수. 0이면 메인 프로세스에서 불러옵니다.", False),
    "dataloader_pin_memory": ("training", "Pin batches in page-locked memory for faster copies to the GPU.", "GPU로 빠르게 복사하도록 배치를 고정 메모리에 둡니다.", False),
    "seed": ("training", "Random seed for reproducible runs.", "재현 가능한 실행을 위한 난수 시드입니다.", False),
    "eval_strategy": ("evaluation", "When to evaluate: no, every eval_steps steps, or every epoch.", "평가 시점: no, eval_steps마다, 또는 에폭마다.", True),
    "eval_steps": ("evaluation", "Evaluate every N steps (a fraction < 1 means a share of the total).", "N 스텝마다 평가합니다(1 미만이면 전체 대비 비율).", False),
    "logging_strategy": ("evaluation", "When to log loss and learning rate.", "손실과 학습률을 기록하는 시점입니다.", True),
    "logging_steps": ("evaluation", "Log every N steps.", "N 스텝마다 기록합니다.", False),
    "save_strategy": ("evaluation", "When to save a checkpoint: no, steps, epoch or best.", "체크포인트 저장 시점: no, steps, epoch, best.", True),
    "save_steps": ("evaluation", "Save a checkpoint every N steps.", "N 스텝마다 체크포인트를 저장합니다.", False),
    "save_total_limit": ("evaluation", "Keep at most N checkpoints; older ones are deleted.", "체크포인트를 최대 N개만 유지하고 오래된 것은 지웁니다.", False),
    "save_on_each_node": ("evaluation", "On several machines, save on every node, not only the main one (no shared disk).", "여러 머신에서 메인 노드뿐 아니라 각 노드에 저장합니다(공유 디스크가 없을 때).", False),
    "load_best_model_at_end": ("evaluation", "Load the best checkpoint at the end; needs matching eval and save strategies.", "끝에서 가장 좋은 체크포인트를 불러옵니다. 평가·저장 전략이 같아야 합니다.", False),
    "metric_for_best_model": ("evaluation", "The metric that decides the best checkpoint (e.g. eval_loss, accuracy).", "가장 좋은 체크포인트를 고르는 지표(예: eval_loss, accuracy).", False),
    "learning_rate": ("optimizer", "Peak learning rate. 2e-5 to 5e-5 for fine-tuning, 1e-4 to 2e-4 for LoRA.", "최대 학습률. 파인튜닝은 2e-5~5e-5, LoRA는 1e-4~2e-4.", False),
    "weight_decay": ("optimizer", "L2-style decay on weights; 0.0 to 0.1.", "가중치 감쇠(L2 계열), 0.0~0.1.", False),
    "adam_beta1": ("optimizer", "Adam's first-moment decay.", "Adam의 1차 모멘트 감쇠 계수입니다.", False),
    "adam_beta2": ("optimizer", "Adam's second-moment decay.", "Adam의 2차 모멘트 감쇠 계수입니다.", False),
    "adam_epsilon": ("optimizer", "Adam's numerical-stability term.", "Adam의 수치 안정화 항입니다.", False),
    "max_grad_norm": ("optimizer", "Clip gradients to this norm; 1.0 is standard.", "그래디언트를 이 노름으로 자릅니다. 보통 1.0.", False),
    "lr_scheduler_type": ("optimizer", "How the learning rate changes over training (linear, cosine, constant, ...).", "학습률 변화 방식(linear, cosine, constant 등).", False),
    "warmup_steps": ("optimizer", "Warm up the learning rate over N steps, or a fraction < 1 of all steps.", "N 스텝(또는 전체의 1 미만 비율) 동안 학습률을 서서히 올립니다.", False),
    "optim": ("optimizer", "The optimizer implementation.", "옵티마이저 구현입니다.", False),
    "fp16": ("precision", "16-bit float mixed precision, for GPUs without bf16 (before Ampere).", "fp16 혼합 정밀도(bf16이 없는 Ampere 이전 GPU용).", False),
    "bf16": ("precision", "bfloat16 mixed precision: recommended on Ampere (A100, RTX 30xx) or newer.", "bf16 혼합 정밀도: Ampere(A100, RTX 30xx) 이상에서 권장.", False),
    "fp16_full_eval": ("precision", "Run evaluation fully in fp16: faster, slightly less exact.", "평가를 fp16으로만 수행합니다(빠르지만 조금 덜 정확).", False),
    "bf16_full_eval": ("precision", "Run evaluation fully in bf16.", "평가를 bf16으로만 수행합니다.", False),
    "tf32": ("precision", "Allow TF32 matrix maths on Ampere or newer.", "Ampere 이상에서 TF32 행렬 연산을 허용합니다.", False),
    "ddp_backend": ("distribution", "Communication backend: nccl on GPUs, gloo on CPU (hftui picks it when unset).", "통신 백엔드: GPU는 nccl, CPU는 gloo(비워 두면 hftui가 선택).", False),
    "fsdp": ("distribution", "Fully Sharded Data Parallel options (hftui sets this from [launch] backend = fsdp).", "FSDP 옵션([launch] backend = fsdp이면 hftui가 설정).", False),
    "fsdp_config": ("distribution", "FSDP settings as a table (auto-wrap, offload, ...).", "FSDP 설정 테이블(자동 래핑, 오프로드 등).", False),
    "deepspeed": ("distribution", "A DeepSpeed JSON config (hftui writes one from [launch] backend = deepspeed).", "DeepSpeed JSON 설정([launch] backend = deepspeed이면 hftui가 생성).", False),
    "use_cpu": ("distribution", "Train on the CPU even when a GPU is present.", "GPU가 있어도 CPU로 학습합니다.", False),
    "report_to": ("integrations", "Where metrics go: none, tensorboard, wandb, comet_ml, trackio (several allowed).", "지표를 보낼 곳: none, tensorboard, wandb, comet_ml, trackio(여러 개 가능).", False),
    "run_name": ("integrations", "The run's name in W&B and other trackers.", "W&B 등 추적 도구에 표시되는 실행 이름입니다.", False),
    "disable_tqdm": ("integrations", "Hide the progress bars in the log (hftui shows its own).", "로그의 진행 표시줄을 숨깁니다(hftui가 자체 표시).", False),
    "push_to_hub": ("integrations", "Upload the model to the Hugging Face Hub when saving (needs HF_TOKEN).", "저장할 때 모델을 Hugging Face 허브에 올립니다(HF_TOKEN 필요).", False),
    "max_length": ("dataset", "Longest tokenized sequence; longer ones are truncated.", "토큰화된 최대 시퀀스 길이. 더 길면 잘립니다.", False),
    "packing": ("dataset", "Pack several short examples into one sequence: faster SFT.", "짧은 예제 여러 개를 한 시퀀스로 묶어 SFT를 빠르게 합니다.", False),
    "num_ppo_epochs": ("trainer", "PPO epochs over each batch of rollouts.", "롤아웃 배치마다 PPO 에폭 수입니다.", False),
    "response_length": ("trainer", "Tokens generated per prompt during PPO rollouts.", "PPO 롤아웃에서 프롬프트마다 생성할 토큰 수입니다.", False),
    "total_episodes": ("trainer", "Total prompts (episodes) PPO trains on.", "PPO가 학습할 전체 에피소드 수입니다.", False),
}


@dataclass(frozen=True)
class Catalog:
    trainer_type: str
    class_name: str
    versions: dict
    args: dict  # name -> Field

    def step_fields(self, step: str, advanced: bool = False) -> list[Field]:
        return [f for f in self.args.values() if f.step == step and (advanced or not f.advanced)]


def _version(dist: str) -> str:
    """The installed version of a distribution, from its dist-info folder name when possible.

    importlib.metadata costs ~50-100 ms of imports at every start; the folder name next to the
    package says the same thing for a regular install.
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec(dist)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return "missing"
    if spec.submodule_search_locations:
        site = Path(next(iter(spec.submodule_search_locations))).parent
        found = list(site.glob(f"{dist}-*.dist-info"))
        if len(found) == 1:
            return found[0].name[len(dist) + 1 : -len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


@lru_cache(maxsize=1)
def _installed_versions() -> tuple:
    return tuple((d, _version(d)) for d in ("transformers", "trl"))


def installed_versions() -> dict:
    return dict(_installed_versions())


def config_key(trainer_type: str, task: str | None = None) -> str:
    if trainer_type == "trainer" and task == "seq2seq-lm":
        return "seq2seq"
    return trainer_type if trainer_type in CONFIG_CLASSES else "trainer"


def _cache_path(key: str, versions: dict) -> Path:
    tag = "-".join(f"{k}{v}" for k, v in sorted(versions.items()))
    return state_dir() / "catalog" / f"{key}-{tag}-v{CACHE_FORMAT}.json"


def load_config_class(trainer_type: str, task: str | None = None) -> type:
    """The installed config class for a trainer type, wherever this trl version keeps it."""
    import importlib
    import os
    import warnings

    key = config_key(trainer_type, task)
    modules, name = CONFIG_CLASSES[key]
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    errors = []
    for module in modules:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mod = importlib.import_module(module)
            cls = getattr(mod, name, None)
            if cls is not None:
                return cls
        except ImportError as exc:
            errors.append(f"{module}: {exc}")
    raise ImportError(f"{name} for trainer type {trainer_type!r} not found in the installed libraries ({'; '.join(errors) or 'absent'})")


def cached_catalog(trainer_type: str, task: str | None = None) -> Catalog | None:
    """The catalog from the on-disk cache only; None when it has not been built yet."""
    key = config_key(trainer_type, task)
    path = _cache_path(key, installed_versions())
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if raw.get("format") != CACHE_FORMAT:
        return None
    args = {}
    for name, f in raw["args"].items():
        f["choices"] = tuple(f.get("choices") or ())
        args[name] = Field(**f)
    return Catalog(trainer_type, raw["class_name"], raw["versions"], args)


@lru_cache(maxsize=None)
def get_catalog(trainer_type: str, task: str | None = None) -> Catalog:
    """The catalog, from the cache when possible, else built from the installed classes."""
    cat = cached_catalog(trainer_type, task)
    if cat is not None:
        return cat
    return build_catalog(trainer_type, task)


def build_catalog(trainer_type: str, task: str | None = None) -> Catalog:
    key = config_key(trainer_type, task)
    cls = load_config_class(trainer_type, task)
    versions = installed_versions()
    args = {f.name: f for f in fields_of(cls)}
    cat = Catalog(trainer_type, cls.__name__, versions, args)
    try:
        path = _cache_path(key, versions)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": CACHE_FORMAT,
            "class_name": cls.__name__,
            "versions": versions,
            "args": {n: asdict(f) for n, f in args.items()},
        }
        atomic_write_text(path, json.dumps(payload, default=str))
    except OSError:
        pass  # a read-only state dir only costs speed
    return cat


def installed_name(*names: str, trainer_type: str = "trainer") -> str:
    """The first of `names` the installed config class takes (else the first): for options
    that transformers renamed, so a hint names the option this installation knows
    (`activation_checkpointing`, or `gradient_checkpointing` before it existed)."""
    try:
        args = get_catalog(trainer_type).args
    except Exception:
        return names[0]
    return next((n for n in names if n in args), names[0])


def checkpointing_option(trainer_type: str = "trainer") -> str:
    """The installed name of "recompute activations in the backward pass"."""
    return installed_name("activation_checkpointing", "gradient_checkpointing", trainer_type=trainer_type)


def warm_all() -> None:
    """Build every catalog cache (the wizard runs this in a worker, off the start-up path)."""
    for key in ("trainer", "sft", "reward", "ppo"):
        try:
            get_catalog(key)
        except ImportError:
            pass
    try:
        get_catalog("trainer", "seq2seq-lm")
    except ImportError:
        pass


# -- reading a dataclass ---------------------------------------------------------------------
def fields_of(cls: type) -> list[Field]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init or f.name.startswith("_"):
            continue
        type_name, choices, nullable = describe_type(hints.get(f.name, Any))
        default = _default_of(f)
        help_text = " ".join(str(f.metadata.get("help", "")).split())
        if not choices and "choices" in f.metadata:
            choices = tuple(f.metadata["choices"])
        deprecated = "deprecated" in help_text.lower()[:120] and "deprecated)" not in help_text.lower()[:120]
        curated = CURATED.get(f.name)
        step = curated[0] if curated else guess_step(f.name)
        out.append(
            Field(
                section="args",
                name=f.name,
                type=type_name,
                default=default,
                choices=tuple(_jsonable(c) for c in choices),
                help=curated[1] if curated else help_text,
                help_ko=curated[2] if curated else "",
                star=curated[3] if curated else False,
                step=step,
                advanced=curated is None,
                **arg_limits(f.name),
                extra={"nullable": nullable, "doc": help_text, "deprecated": deprecated},
            )
        )
    return out


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return _jsonable(f.default)
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        try:
            return _jsonable(f.default_factory())  # type: ignore[misc]
        except Exception:
            return None
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def describe_type(tp: Any) -> tuple[str, tuple, bool]:
    """(type name, choices, nullable) for a dataclass field annotation."""
    args = _union_args(tp)
    nullable = type(None) in args
    args = [a for a in args if a is not type(None)]
    choices: list = []
    kinds: set[str] = set()
    for a in args:
        origin = typing.get_origin(a)
        if origin is typing.Literal:
            lits = [v for v in typing.get_args(a) if v is not False and v is not None]
            choices.extend(lits)
            kinds.update(_kind_of_value(v) for v in lits)
            if False in typing.get_args(a):
                kinds.add("bool")
        elif isinstance(a, type) and issubclass(a, enum.Enum):
            choices.extend(m.value for m in a)
            kinds.add("str")
        elif a is bool:
            kinds.add("bool")
        elif a is int:
            kinds.add("int")
        elif a is float:
            kinds.add("float")
        elif a is str:
            kinds.add("str")
        elif origin in (list, tuple) or a in (list, tuple):
            kinds.add("list")
        elif origin is dict or a is dict:
            kinds.add("dict")
        else:
            kinds.add("any")
    return _combine(kinds), tuple(dict.fromkeys(choices)), nullable


def _kind_of_value(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    return "str"


def _combine(kinds: set[str]) -> str:
    if "any" in kinds or not kinds:
        return "any"
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {"int", "float"}:
        return "float"
    if kinds <= {"str", "list"}:
        return "str_or_list"
    if kinds <= {"str", "dict"}:
        return "str_or_dict"
    return "any"


def _union_args(tp: Any) -> list:
    origin = typing.get_origin(tp)
    if origin is typing.Union or (hasattr(types, "UnionType") and isinstance(tp, types.UnionType)):
        out = []
        for a in typing.get_args(tp):
            out.extend(_union_args(a))
        return out
    return [tp]
