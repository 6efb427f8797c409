"""Common GPUs by name: memory, bf16 support and peak dense tensor FLOP/s, and a machine
written as `4xA100-80GB`.

The memory is what NVML reports as the card's total (what `hftui doctor` shows on one), the
peaks are the vendor's dense (not sparse) tensor-core figures with fp32 accumulation. They let
`hftui validate --for` estimate a machine that is not this one, and `hftui probe`, the
benchmark and the live pane turn tokens/s into MFU where the GPU is known.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

MiB = 1024**2


@dataclass(frozen=True)
class GpuModel:
    name: str  # how a person writes it: "A100-80GB"
    memory_mib: int  # NVML's total
    compute_capability: tuple[int, int]
    peak_bf16: float | None  # dense FLOP/s; None: no bf16 tensor cores
    peak_fp16: float
    matches: tuple[str, ...]  # all of these words appear in NVML's name of such a card

    @property
    def supports_bf16(self) -> bool:
        return self.compute_capability >= (8, 0)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * MiB


GPU_MODELS: tuple[GpuModel, ...] = (
    GpuModel("H200", 143_771, (9, 0), 989e12, 989e12, ("H200",)),
    GpuModel("H100-PCIe", 81_559, (9, 0), 756e12, 756e12, ("H100", "PCIE")),
    GpuModel("H100-80GB", 81_559, (9, 0), 989e12, 989e12, ("H100",)),  # SXM
    GpuModel("A100-80GB", 81_920, (8, 0), 312e12, 312e12, ("A100", "80GB")),
    GpuModel("A100-40GB", 40_960, (8, 0), 312e12, 312e12, ("A100",)),
    GpuModel("L40S", 46_068, (8, 9), 362e12, 362e12, ("L40S",)),
    GpuModel("L4", 23_034, (8, 9), 121e12, 121e12, ("L4",)),
    GpuModel("A10G", 23_028, (8, 6), 125e12, 125e12, ("A10G",)),
    GpuModel("RTX4090", 24_564, (8, 9), 165e12, 165e12, ("4090",)),
    GpuModel("RTX3090", 24_576, (8, 6), 71e12, 71e12, ("3090",)),
    GpuModel("V100-32GB", 32_768, (7, 0), None, 125e12, ("V100", "32GB")),
    GpuModel("V100-16GB", 16_384, (7, 0), None, 125e12, ("V100",)),
    GpuModel("T4", 15_360, (7, 5), None, 65e12, ("T4",)),
)

# Other ways people write the same cards.
ALIASES = {"H100": "H100-80GB", "H100-SXM": "H100-80GB", "A100": "A100-80GB", "V100": "V100-32GB",
           "4090": "RTX4090", "3090": "RTX3090", "A10": "A10G", "H200-141GB": "H200"}

_SPEC = re.compile(r"^\s*(?:(\d+)\s*[x×*]\s*)?(.+?)\s*$", re.IGNORECASE)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower().replace("geforce", ""))


_BY_KEY = {_key(m.name): m for m in GPU_MODELS}
_BY_KEY.update({_key(alias): _BY_KEY[_key(target)] for alias, target in ALIASES.items()})


class UnknownMachine(ValueError):
    """A machine description hftui cannot read; the message names close matches."""


def known_names() -> list[str]:
    return [m.name for m in GPU_MODELS]


def parse_machine(spec: str) -> tuple[int, GpuModel]:
    """`4xA100-80GB` -> (4, A100-80GB); `H200` -> (1, H200). UnknownMachine when unreadable."""
    match = _SPEC.match(spec or "")
    if not match or not match.group(2):
        raise UnknownMachine(f"no machine given; write COUNTxGPU, e.g. 4xA100-80GB (GPUs: {', '.join(known_names())})")
    count = int(match.group(1)) if match.group(1) else 1
    if count < 1:
        raise UnknownMachine(f"{spec!r}: the GPU count must be 1 or more, e.g. 4xA100-80GB")
    model = _BY_KEY.get(_key(match.group(2)))
    if model is None:
        typed = _key(match.group(2))
        close = difflib.get_close_matches(typed, list(_BY_KEY), n=4, cutoff=0.5)
        close += [k for k in _BY_KEY if typed and (typed in k or k in typed) and k not in close]
        names = list(dict.fromkeys(_BY_KEY[k].name for k in close))
        hint = f"did you mean {' or '.join(names[:4])}? " if names else ""
        raise UnknownMachine(f"unknown GPU {match.group(2)!r} in {spec!r}: {hint}known GPUs: {', '.join(known_names())}")
    return count, model


def machine_gpus(spec: str) -> list:
    """The `GpuInfo`s of a named machine, as if `gpu.detect()` had found them there."""
    from hftui.core.gpu import GpuInfo

    count, model = parse_machine(spec)
    return [GpuInfo(i, model.name, model.memory_bytes, model.compute_capability) for i in range(count)]


def model_of(name: str) -> GpuModel | None:
    """The table's row for a GPU as NVML or torch names it ("NVIDIA H100 80GB HBM3"), or None."""
    direct = _BY_KEY.get(_key(name))
    if direct is not None:
        return direct
    upper = (name or "").upper().replace("-", " ")
    words = set(re.split(r"[\s_]+", upper))
    for model in GPU_MODELS:  # the more specific rows come first
        if all(m in words or (len(m) > 3 and m in upper) for m in model.matches):
            return model
    return None


def peak_flops(name: str, bf16: bool = True) -> float | None:
    """Peak dense tensor FLOP/s of the GPU called `name` (bf16, else fp16); None when unknown."""
    model = model_of(name)
    if model is None:
        return None
    return model.peak_bf16 if bf16 and model.peak_bf16 else model.peak_fp16
