"""GPU facts from NVML (nvidia-ml-py), with a clean "no GPU" answer on machines without one.

NVML is cheap and never initialises CUDA, so it is safe in the wizard (in a worker thread),
in `hftui doctor` and in the training process's sampler thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_total: int  # bytes
    compute_capability: tuple[int, int] | None
    driver: str = ""

    @property
    def supports_bf16(self) -> bool:
        return bool(self.compute_capability and self.compute_capability >= (8, 0))

    def to_dict(self) -> dict:
        return asdict(self)


_nvml_ready: bool | None = None


def _nvml():
    """The initialised pynvml module, or None when there is no NVIDIA driver."""
    global _nvml_ready
    try:
        import pynvml
    except ImportError:
        return None
    if _nvml_ready is None:
        try:
            pynvml.nvmlInit()
            _nvml_ready = True
        except Exception:
            _nvml_ready = False
    return pynvml if _nvml_ready else None


def detect() -> list[GpuInfo]:
    """Every visible NVIDIA GPU; [] when there is none (or no driver). Never raises."""
    nv = _nvml()
    if nv is None:
        return []
    out = []
    try:
        driver = nv.nvmlSystemGetDriverVersion()
        driver = driver.decode() if isinstance(driver, bytes) else str(driver)
        for i in range(nv.nvmlDeviceGetCount()):
            h = nv.nvmlDeviceGetHandleByIndex(i)
            name = nv.nvmlDeviceGetName(h)
            name = name.decode() if isinstance(name, bytes) else str(name)
            mem = nv.nvmlDeviceGetMemoryInfo(h)
            try:
                cc = tuple(nv.nvmlDeviceGetCudaComputeCapability(h))
            except Exception:
                cc = None
            out.append(GpuInfo(i, name, int(mem.total), cc, driver))  # type: ignore[arg-type]
    except Exception:
        return out
    return _only_visible(out)


def _only_visible(gpus: list[GpuInfo]) -> list[GpuInfo]:
    import os

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return gpus
    wanted = [v.strip() for v in visible.split(",") if v.strip()]
    if not wanted or wanted == ["-1"]:
        return []
    picked = []
    for v in wanted:
        if v.isdigit() and int(v) < len(gpus):
            picked.append(gpus[int(v)])
    return picked if picked else gpus[: len(wanted)]


def sample() -> list[dict]:
    """One reading per visible GPU: used/total bytes and utilisation percent."""
    nv = _nvml()
    if nv is None:
        return []
    out = []
    try:
        for g in detect():
            h = nv.nvmlDeviceGetHandleByIndex(g.index)
            mem = nv.nvmlDeviceGetMemoryInfo(h)
            try:
                util = int(nv.nvmlDeviceGetUtilizationRates(h).gpu)
            except Exception:
                util = None
            out.append({"index": g.index, "name": g.name, "used": int(mem.used), "total": int(mem.total), "util": util})
    except Exception:
        return out
    return out
