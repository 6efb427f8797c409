"""The preset's own sections (everything but `[args]`), described as data.

`[args]` is described by the installed library's config class (see `catalog`); the other
sections are hftui's own, so they are defined here once and used by the loader (for `--set`
typing), the validator and the wizard alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

TASKS = ("causal-lm", "sequence-classification", "seq2seq-lm")
TRAINER_TYPES = ("trainer", "sft", "reward", "dpo", "grpo", "rloo", "ppo")
# Trainer types that generate completions and score them with rewards ([grpo] names them).
REWARD_TRAINER_TYPES = ("grpo", "rloo")

# Each trainer type in plain words: what it does, and which data it needs (the wizard's trainer step).
TRAINER_TYPE_HELP: dict[str, tuple[str, str]] = {
    "trainer": ("transformers Trainer: plain training for the model's task (text, labels or targets).",
                "transformers Trainer: 모델 작업에 맞는 기본 학습(텍스트, 레이블 또는 목표 텍스트)."),
    "sft": ("TRL SFT: teach a language model to write answers; data is text, chat messages, or prompt + completion (loss on the completion only).",
            "TRL SFT: 언어 모델에 답을 쓰도록 가르칩니다. 데이터: 텍스트, 대화 메시지, 또는 prompt + completion(completion에만 손실)."),
    "reward": ("TRL reward model: learn to score a chosen answer above a rejected one; data has chosen and rejected columns.",
               "TRL 보상 모델: 선택된 답을 거절된 답보다 높게 점수 매기도록 학습합니다. 데이터: chosen, rejected 열."),
    "dpo": ("TRL DPO: prefer the chosen answer over the rejected one directly, no reward model; data has prompt, chosen and rejected (text or chat).",
            "TRL DPO: 보상 모델 없이 선택된 답을 거절된 답보다 선호하도록 학습합니다. 데이터: prompt, chosen, rejected(텍스트 또는 대화)."),
    "grpo": ("TRL GRPO: the model writes several answers per prompt and learns from their rewards ([grpo]: a reward model and/or reward functions); data has prompts.",
             "TRL GRPO: 프롬프트마다 여러 답을 생성하고 보상으로 학습합니다([grpo]: 보상 모델 및/또는 보상 함수). 데이터: 프롬프트."),
    "rloo": ("TRL RLOO: like GRPO (prompts, rewards from [grpo]) with a leave-one-out baseline.",
             "TRL RLOO: GRPO와 같지만(프롬프트, [grpo]의 보상) leave-one-out 기준선을 씁니다."),
    "ppo": ("TRL PPO (needs hftui[ppo]): a policy, a value model and a reward model; data has prompts.",
            "TRL PPO(hftui[ppo] 필요): 정책, 가치 모델, 보상 모델로 학습합니다. 데이터: 프롬프트."),
}
# The same in a few words, one line per type in the help of trainer.type.
TRAINER_TYPE_SHORT: dict[str, tuple[str, str]] = {
    "trainer": ("plain training for the model's task", "모델 작업에 맞는 기본 학습"),
    "sft": ("teach a model to write answers", "답을 쓰도록 지도 학습"),
    "reward": ("learn to score answers (chosen vs rejected)", "답에 점수 매기기 학습(chosen/rejected)"),
    "dpo": ("prefer the chosen answer, no reward model", "보상 모델 없이 선택된 답을 선호하도록 학습"),
    "grpo": ("learn from the rewards of its own answers", "스스로 쓴 답의 보상으로 학습"),
    "rloo": ("GRPO with a leave-one-out baseline", "leave-one-out 기준선을 쓰는 GRPO"),
    "ppo": ("policy, value and reward models (hftui[ppo])", "정책·가치·보상 모델(hftui[ppo])"),
}
BACKENDS = ("auto", "single", "ddp", "fsdp", "deepspeed")
OFFLOADS = ("none", "optimizer", "all")
TOKENIZERS = ("byte",)
# load_dataset's packaged builders: dataset.path names one of these when data_files are local.
BUILDERS = ("json", "csv", "parquet", "text", "arrow", "pandas")
# The builder a data file's extension implies.
DATA_EXTENSIONS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet", ".txt": "text", ".arrow": "arrow"}
EVAL_SPLIT_NAMES = ("eval", "validation", "valid", "test")
PEFT_METHODS = ("lora", "qlora")
# The attention kernels built into transformers and PyTorch; flash_attention_* and Hub kernels
# (owner/name) need a package (core/checks/installed.ATTENTION_PACKAGES, HUB_KERNELS_PACKAGE).
BUILTIN_ATTENTION = ("sdpa", "eager", "flex_attention")
ATTENTION_HELP = (
    "The attention kernel: sdpa (PyTorch's fused attention, the default), eager (plain maths, slow; stores the scores), "
    "flash_attention_2 / flash_attention_3 (CUDA, needs the flash-attn package; fastest, and what padding_free needs), "
    "or a Hub kernel such as kernels-community/flash-attn (needs the kernels package).",
    "어텐션 커널: sdpa(PyTorch 융합 어텐션, 기본값), eager(단순 계산, 느리고 점수를 저장), "
    "flash_attention_2 / flash_attention_3(CUDA, flash-attn 패키지 필요; 가장 빠르고 padding_free에 필요), "
    "또는 kernels-community/flash-attn 같은 허브 커널(kernels 패키지 필요).",
)


@dataclass(frozen=True)
class Field:
    """One option a person can set: where it lives, what it is, and what it does."""

    section: str  # "model", "model.scratch", "dataset", ... or "args"
    name: str
    type: str  # bool | int | float | str | list | dict | str_or_dict | int_or_auto | str_or_list | any
    default: Any = None
    choices: tuple = ()
    help: str = ""
    help_ko: str = ""
    star: bool = False
    step: str = ""  # the wizard step that shows it
    minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: bool = False  # the value must stay below `maximum`, not reach it
    advanced: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"{self.section}.{self.name}"


def _f(section: str, name: str, type: str, default: Any = None, help: str = "", help_ko: str = "", **kw) -> Field:
    return Field(section=section, name=name, type=type, default=default, help=help, help_ko=help_ko, **kw)


TOP_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        _f("", "schema", "int", SCHEMA_VERSION, "Preset schema version; this hftui reads 1.", "프리셋 스키마 버전입니다. 현재 1만 지원합니다.", choices=(1,)),
        _f("", "name", "str", "", "A short name for the run, shown in `hftui runs`.", "실행 목록에 표시되는 짧은 이름입니다.", step="model"),
        _f("", "description", "str", "", "What this preset is for.", "이 프리셋의 용도 설명입니다.", step="model"),
    ]
}

SECTION_FIELDS: dict[str, dict[str, Field]] = {}


def _section(section: str, step: str, fields: list[Field]) -> None:
    SECTION_FIELDS[section] = {f.name: Field(**{**f.__dict__, "step": f.step or step}) for f in fields}


_section("model", "model", [
    _f("model", "name_or_path", "str", "", "Hub model id (e.g. gpt2) or a local model folder. Leave empty when [model.scratch] builds a fresh model.", "허브 모델 ID(예: gpt2) 또는 로컬 모델 폴더입니다. [model.scratch]로 새 모델을 만들 때는 비워 둡니다.", star=True),
    _f("model", "task", "str", "causal-lm", "What the model learns: next-token prediction, classification or sequence-to-sequence.", "모델이 배우는 작업: 다음 토큰 예측, 분류, 시퀀스-투-시퀀스.", choices=TASKS, star=True),
    _f("model", "num_labels", "int", None, "Number of classes for sequence-classification; inferred from the label column when not set.", "분류 클래스 수입니다. 비워 두면 레이블 열에서 추론합니다.", minimum=1),
    _f("model", "dtype", "str", "auto", "Weights dtype when loading: auto, float32, bfloat16 or float16.", "불러올 때 가중치 자료형: auto, float32, bfloat16, float16.", choices=("auto", "float32", "bfloat16", "float16")),
    _f("model", "trust_remote_code", "bool", False, "Run Python code shipped with a Hub model. Replaying such a preset needs --trust-remote-code.", "허브 모델에 포함된 파이썬 코드를 실행합니다. 재실행에는 --trust-remote-code가 필요합니다."),
    _f("model", "attn_implementation", "str", "sdpa", ATTENTION_HELP[0], ATTENTION_HELP[1]),
    _f("model", "revision", "str", None, "A Hub branch, tag or commit to pin the model to.", "모델을 고정할 허브 브랜치, 태그 또는 커밋입니다.", advanced=True),
])

_section("model.scratch", "model", [
    _f("model.scratch", "architecture", "str", "llama", "An AutoConfig model_type (llama, gpt2, bert, t5, ...): a fresh model, no download.", "AutoConfig model_type(llama, gpt2, bert, t5 등): 다운로드 없이 새 모델을 만듭니다.", star=True),
    _f("model.scratch", "tokenizer", "str", "byte", "How the tokenizer is made offline: byte (256 byte tokens plus specials) or a local tokenizer folder.", "오프라인 토크나이저 생성 방식: byte(바이트 256개 + 특수 토큰) 또는 로컬 토크나이저 폴더.", star=True),
])
# Any other key of [model.scratch] is passed to the architecture's config (hidden_size, num_hidden_layers, ...).

_section("dataset", "dataset", [
    _f("dataset", "path", "str", "", "load_dataset path: json, csv, parquet, text, a local folder or a Hub dataset id.", "load_dataset 경로: json, csv, parquet, text, 로컬 폴더 또는 허브 데이터셋 ID.", star=True),
    _f("dataset", "name", "str", None, "The dataset's configuration name, if it has several.", "데이터셋 구성 이름(여러 개가 있을 때)."),
    _f("dataset", "data_files", "str_or_dict", None, "Data file(s), relative to the preset file: a path, or { train = ..., eval = ... }.", "데이터 파일 경로(프리셋 파일 기준 상대 경로) 또는 { train = ..., eval = ... }.", star=True),
    _f("dataset", "train_split", "str", "train", "The split to train on.", "학습에 쓰는 분할입니다."),
    _f("dataset", "eval_split", "str", None, "The split to evaluate on (or set eval_fraction instead).", "평가에 쓰는 분할입니다(또는 eval_fraction 사용)."),
    _f("dataset", "eval_fraction", "float", None, "Hold out this fraction of the training split for evaluation.", "학습 분할에서 이 비율만큼 평가용으로 떼어 둡니다.", minimum=0.0, maximum=0.9),
    _f("dataset", "text_column", "str", "text", "Column with the input text (sft: text, or a messages column for chat data).", "입력 텍스트 열(sft: text 또는 대화형 messages 열)."),
    _f("dataset", "label_column", "str", "label", "Column with the class label (sequence-classification).", "분류 레이블 열입니다."),
    _f("dataset", "target_column", "str", "target", "Column with the target text (seq2seq-lm).", "목표 텍스트 열입니다(seq2seq-lm)."),
    _f("dataset", "messages_column", "str", "messages", "Column with chat messages (sft on chat data).", "대화 메시지 열입니다(sft 대화 데이터)."),
    _f("dataset", "prompt_column", "str", "prompt", "Column with prompts (sft prompt/completion, dpo, grpo, rloo, ppo).", "프롬프트 열입니다(sft prompt/completion, dpo, grpo, rloo, ppo)."),
    _f("dataset", "completion_column", "str", "completion", "Column with the answer to each prompt (sft prompt/completion: only the answer is trained).", "각 프롬프트의 답 열입니다(sft prompt/completion: 답에만 손실)."),
    _f("dataset", "chosen_column", "str", "chosen", "Column with the preferred answer (reward, dpo).", "선호 응답 열입니다(reward, dpo)."),
    _f("dataset", "rejected_column", "str", "rejected", "Column with the rejected answer (reward, dpo).", "거절 응답 열입니다(reward, dpo)."),
    _f("dataset", "max_length", "int", 512, "Longest sequence in tokens; longer inputs are truncated (SFT, DPO and reward get it as their max_length).", "최대 시퀀스 길이(토큰)입니다. 더 길면 잘립니다(SFT, DPO, reward의 max_length로 전달).", minimum=8, star=True),
    _f("dataset", "max_train_samples", "int", None, "Use only the first N training rows (quick experiments).", "앞의 N개 학습 행만 사용합니다(빠른 실험).", minimum=1, advanced=True),
    _f("dataset", "max_eval_samples", "int", None, "Use only the first N evaluation rows.", "앞의 N개 평가 행만 사용합니다.", minimum=1, advanced=True),
])

_section("trainer", "trainer", [
    _f("trainer", "type", "str", "sft", "Which trainer runs (the top of this step says what the chosen one does and which data it needs):\n"
       + "\n".join(f"  {k}: {v[0]}" for k, v in TRAINER_TYPE_SHORT.items()),
       "실행할 트레이너입니다(이 단계 맨 위에 고른 유형이 하는 일과 필요한 데이터가 나옵니다):\n"
       + "\n".join(f"  {k}: {v[1]}" for k, v in TRAINER_TYPE_SHORT.items()),
       choices=TRAINER_TYPES, star=True),
    _f("trainer", "metrics", "list", [], "Evaluation metrics: accuracy, f1, precision, recall, roc_auc, bleu, wer, mse, perplexity.", "평가 지표: accuracy, f1, precision, recall, roc_auc, bleu, wer, mse, perplexity.", step="evaluation"),
])

_section("peft", "peft", [
    _f("peft", "method", "str", "lora", "lora: adapters on the model as loaded. qlora: the base model loaded in 4 bits (bitsandbytes NF4, CUDA only) with LoRA adapters on top, so a 7B model fine-tunes on one 24 GB card; needs a Hub or local model, not [model.scratch].",
       "lora: 불러온 모델에 어댑터를 붙입니다. qlora: 기본 모델을 4비트(bitsandbytes NF4, CUDA 전용)로 불러오고 그 위에 LoRA 어댑터를 붙여 7B 모델을 24 GB GPU 한 장에서 파인튜닝합니다. [model.scratch]가 아닌 허브/로컬 모델이 필요합니다.", choices=PEFT_METHODS, star=True),
    _f("peft", "r", "int", 16, "LoRA rank: size of the low-rank update. 8-64 is common.", "LoRA 랭크(저랭크 업데이트 크기). 보통 8-64.", minimum=1, star=True),
    _f("peft", "lora_alpha", "int", 32, "LoRA scaling; often twice r.", "LoRA 스케일링 값. 보통 r의 두 배.", minimum=1, star=True),
    _f("peft", "lora_dropout", "float", 0.05, "Dropout on the LoRA path.", "LoRA 경로의 드롭아웃입니다.", minimum=0.0, maximum=1.0),
    _f("peft", "target_modules", "str_or_list", "all-linear", "Which layers get adapters: all-linear or a list of module names.", "어댑터를 붙일 레이어: all-linear 또는 모듈 이름 목록.", star=True),
    _f("peft", "bias", "str", "none", "Which biases train: none, all or lora_only.", "학습할 바이어스: none, all, lora_only.", choices=("none", "all", "lora_only")),
    _f("peft", "merge", "bool", False, "Also save the model with the adapters merged in, in <output_dir>/merged (a LoRA reward model can then feed GRPO or PPO).", "어댑터를 합친 모델도 <output_dir>/merged에 저장합니다(LoRA 보상 모델을 GRPO/PPO에 쓸 수 있음).", advanced=True),
    _f("peft", "modules_to_save", "list", None, "Modules trained fully and saved besides the adapters (e.g. a classifier head).", "어댑터 외에 전체 학습·저장할 모듈(예: 분류 헤드).", advanced=True),
])

_section("ppo", "trainer", [
    _f("ppo", "reward_model", "str", "", "The reward model: a folder trained with trainer.type = reward, or a Hub id.", "보상 모델: trainer.type = reward로 학습한 폴더 또는 허브 ID.", star=True),
    _f("ppo", "value_model", "str", None, "The value model; defaults to the reward model.", "가치 모델입니다. 기본값은 보상 모델입니다."),
])

_section("grpo", "trainer", [
    _f("grpo", "reward_model", "str", "", "A reward model scoring each answer: a folder trained with trainer.type = \"reward\", or a Hub id.", "각 답의 점수를 매기는 보상 모델: trainer.type = \"reward\"로 학습한 폴더 또는 허브 ID.", star=True),
    _f("grpo", "reward_functions", "list", [], "Reward functions shipped with hftui, by name: exact_match (the answer equals the solution column), similarity (how close it is to the solution), letters (the share of plain letters), short (shorter answers score higher).",
       "hftui에 포함된 보상 함수 이름: exact_match(답이 solution 열과 같음), similarity(solution과 얼마나 비슷한지), letters(영문자 비율), short(짧을수록 높음).", star=True),
    _f("grpo", "solution_column", "str", "solution", "The column with each prompt's right answer, for exact_match and similarity.", "exact_match와 similarity가 쓰는 정답 열입니다."),
])

_section("launch", "distribution", [
    _f("launch", "backend", "str", "auto", "How processes are started: auto picks from the GPUs here; single, ddp, fsdp or deepspeed.", "프로세스 시작 방식: auto는 GPU 수로 결정; single, ddp, fsdp, deepspeed.", choices=BACKENDS, star=True),
    _f("launch", "num_processes", "int_or_auto", "auto", "Processes per machine; auto = visible GPUs (1 on CPU).", "머신당 프로세스 수. auto = 보이는 GPU 수(CPU는 1).", minimum=1),
    _f("launch", "num_machines", "int", 1, "How many machines take part.", "참여하는 머신 수입니다.", minimum=1),
    _f("launch", "machine_rank", "int", 0, "This machine's rank, 0 .. num_machines-1.", "이 머신의 순번(0 .. num_machines-1).", minimum=0),
    _f("launch", "main_process_ip", "str", "127.0.0.1", "Address of machine 0, reachable from every machine.", "0번 머신의 주소(모든 머신에서 접근 가능해야 함)."),
    _f("launch", "main_process_port", "int", 29500, "A free TCP port on machine 0.", "0번 머신의 빈 TCP 포트입니다.", minimum=1, maximum=65535),
    _f("launch", "zero_stage", "int", 2, "DeepSpeed ZeRO stage: 1 optimizer, 2 + gradients, 3 + parameters sharded.", "DeepSpeed ZeRO 단계: 1 옵티마이저, 2 +그래디언트, 3 +파라미터 분할.", choices=(1, 2, 3)),
    _f("launch", "offload", "str", "none", "Offload to CPU memory: none, optimizer states, or all (parameters too).", "CPU 메모리로 오프로드: none, optimizer, all(파라미터 포함).", choices=OFFLOADS),
    _f("launch", "stop_timeout", "float", 300.0, "Seconds a stop request may take (checkpoint included) before the run's processes are killed.", "중지 요청 후 체크포인트 저장까지 기다리는 최대 시간(초). 넘으면 프로세스를 종료합니다.", minimum=1.0, advanced=True),
])


def field_for(path: str) -> Field | None:
    """The Field of a dotted preset path outside [args], or None."""
    if "." not in path:
        return TOP_FIELDS.get(path)
    section, _, name = path.rpartition(".")
    return SECTION_FIELDS.get(section, {}).get(name)


# [model.scratch] keys beyond architecture/tokenizer go to the model config; these are the common
# ones (llama, gpt2, bert and t5 spellings), each a positive whole number. step="model" marks
# the ones the wizard asks; the rest are checked when a preset sets them.
SCRATCH_CONFIG_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        _f("model.scratch", "hidden_size", "int", None, "Width of the fresh model (e.g. 64 for a smoke test, 2048 for ~1B).", "새 모델의 폭(스모크 테스트는 64, 약 1B는 2048).", step="model", minimum=8),
        _f("model.scratch", "num_hidden_layers", "int", None, "Number of transformer layers.", "트랜스포머 레이어 수입니다.", step="model", minimum=1),
        _f("model.scratch", "num_attention_heads", "int", None, "Attention heads; must divide hidden_size.", "어텐션 헤드 수(hidden_size의 약수).", step="model", minimum=1),
        _f("model.scratch", "intermediate_size", "int", None, "Width of the feed-forward layer.", "피드포워드 레이어의 폭입니다.", step="model", minimum=1, advanced=True),
        *(
            _f("model.scratch", name, "int", None, f"The model config's {name}.", f"모델 설정의 {name} 값입니다.", minimum=1)
            for name in ("num_key_value_heads", "vocab_size", "max_position_embeddings", "n_embd", "n_layer", "n_head", "d_model", "num_layers", "num_heads", "d_ff", "n_positions")
        ),
    ]
}

# The dataset columns each trainer type (and, for the plain Trainer, each task) reads: a tuple
# of needs, each need a tuple of [dataset] keys of which one column must be there.
COLUMN_NEEDS: dict[tuple[str, str | None], tuple[tuple[str, ...], ...]] = {
    ("trainer", "causal-lm"): (("text_column",),),
    ("trainer", "sequence-classification"): (("text_column",), ("label_column",)),
    ("trainer", "seq2seq-lm"): (("text_column",), ("target_column",)),
    ("sft", None): (("text_column", "messages_column", "completion_column"),),
    ("reward", None): (("chosen_column",), ("rejected_column",)),
    ("dpo", None): (("prompt_column",), ("chosen_column",), ("rejected_column",)),
    ("grpo", None): (("prompt_column",),),
    ("rloo", None): (("prompt_column",),),
    ("ppo", None): (("prompt_column",),),
}
COLUMN_KEYS = ("text_column", "label_column", "target_column", "messages_column", "prompt_column", "completion_column", "chosen_column", "rejected_column")
# A column that is read only together with another: SFT's completion goes with its prompt.
PAIRED_COLUMNS = {"completion_column": "prompt_column"}


def column_needs(trainer_type: str, task: str | None) -> tuple[tuple[str, ...], ...]:
    """The [dataset] column keys a trainer type needs: each inner tuple is one-of."""
    key = (trainer_type, task if trainer_type == "trainer" else None)
    return COLUMN_NEEDS.get(key) or COLUMN_NEEDS.get((trainer_type, None)) or (("text_column",),)


def column_name(dataset: dict, key: str) -> str:
    """The column a [dataset] *_column key names: the preset's value or the field's default."""
    value = dataset.get(key)
    return value if isinstance(value, str) and value else str(SECTION_FIELDS["dataset"][key].default)


KNOWN_SECTIONS = ("model", "dataset", "trainer", "args", "peft", "grpo", "ppo", "launch")

# Metric names hftui wires into compute_metrics, each working offline (core/metrics).
METRIC_NAMES = ("accuracy", "f1", "precision", "recall", "roc_auc", "bleu", "wer", "mse", "perplexity")
METRICS_BY_TASK = {
    "sequence-classification": ("accuracy", "f1", "precision", "recall", "roc_auc", "mse"),
    "causal-lm": ("perplexity", "accuracy"),
    "seq2seq-lm": ("bleu", "wer", "accuracy"),
}
