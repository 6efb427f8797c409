"""The machine a preset is checked on: its visible GPUs (none on a CPU box, or without NVML)."""

from __future__ import annotations


def visible_gpus() -> list:
    from hftui.core import gpu

    try:
        return gpu.detect()
    except Exception:
        return []
