"""GPU memory and utilisation in events.jsonl while a run trains.

A daemon thread on rank 0 writes a `gpu` event every few seconds; the EventWriter is
thread-safe, so the sampler and the trainer's callbacks share it.
"""

from __future__ import annotations

import threading

from hftui.core import gpu
from hftui.core.run.events import EventWriter

GPU_SAMPLE_SECONDS = 10.0


class GpuSampler(threading.Thread):
    """Writes a `gpu` event every few seconds while training runs (rank 0, GPUs present)."""

    def __init__(self, writer: EventWriter, step_of, interval: float = GPU_SAMPLE_SECONDS):
        super().__init__(name="hftui-gpu-sampler", daemon=True)
        self.writer, self.step_of, self.interval = writer, step_of, interval
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            devices = gpu.sample()
            if devices:
                self.writer.write("gpu", self.step_of(), devices=devices)
            self.halt.wait(self.interval)
