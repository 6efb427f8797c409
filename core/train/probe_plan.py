"""`hftui probe`'s plan: each candidate batch size trained for a few steps in its own process
(`hftui.core.train.probe`), the rows of the table, the batch size to recommend, and writing it
into the preset.

A candidate that runs out of memory is a row, and the larger ones are not tried: they would
only run out too. The recommendation is the largest batch whose peak stays under `HEADROOM` of
the device's memory (on a GPU the allocator's reserved peak, which is what it holds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hftui.core.i18n import N_, _

HEADROOM = 0.90  # share of the device's memory a recommended batch may peak at
DEFAULT_BATCH_SIZES = (1, 2, 4, 8)
DEFAULT_STEPS = 5
PROBE_MODULE = "hftui.core.train.probe"
# A row's status as the table shows it ("ok" and "oom" read the same in every language).
STATUS_WORDS = {"failed": N_("failed"), "skipped": N_("skipped"), "over headroom": N_("over headroom")}


@dataclass(frozen=True)
class Row:
    batch: int
    result: dict  # the candidate's JSON (empty when skipped)
    status: str  # ok | oom | failed | skipped | over headroom
    tokens_per_second: float | None = None
    mfu: float | None = None

    @property
    def status_text(self) -> str:
        """The status in the reader's language."""
        return _(STATUS_WORDS[self.status]) if self.status in STATUS_WORDS else self.status

    @property
    def peak_bytes(self) -> int | None:
        peak = self.result.get("reserved_bytes") or self.result.get("peak_bytes")
        return int(peak) if peak else None


def run_candidate(preset_path: str, overrides: list[str], batch: int, steps: int, timeout: float) -> dict:
    """One candidate in a child process; its result, or a failure as a result."""
    with tempfile.TemporaryDirectory(prefix="hftui-probe-") as tmp:
        request, result = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request.write_text(json.dumps({"preset": str(preset_path), "overrides": list(overrides), "batch": batch, "steps": steps}))
        log = Path(tmp) / "log.txt"
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
        # one device: with several GPUs visible the Trainer would wrap the model in DataParallel
        visible = [v for v in os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",") if v.strip()]
        env["CUDA_VISIBLE_DEVICES"] = visible[0] if visible else ""
        try:
            with open(log, "w", encoding="utf-8") as out:
                proc = subprocess.run([sys.executable, "-m", PROBE_MODULE, str(request), str(result)], stdout=out,
                                      stderr=subprocess.STDOUT, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"batch": batch, "oom": False, "error": _("did not finish {steps} steps within {timeout:.0f} s", steps=steps, timeout=timeout)}
        try:
            return json.loads(result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # killed before it could write (the kernel's out-of-memory killer, say)
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or [""]
            killed = proc.returncode in (-9, 137)
            error = (_("exited {code} (killed: out of memory?): {tail}", code=proc.returncode, tail=tail[0][:200]) if killed
                     else _("exited {code}: {tail}", code=proc.returncode, tail=tail[0][:200]))
            return {"batch": batch, "oom": killed, "error": error}


def row_of(result: dict) -> Row:
    from hftui.core.gpus import peak_flops
    from hftui.core.train.flops import mfu

    batch = int(result.get("batch", 0))
    if result.get("oom"):
        return Row(batch, result, "oom")
    if result.get("error"):
        return Row(batch, result, "failed")
    status = "ok"
    capacity, peak = result.get("capacity_bytes"), result.get("reserved_bytes") or result.get("peak_bytes")
    if capacity and peak and peak > HEADROOM * capacity:
        status = "over headroom"
    tps = result.get("tokens_per_second")
    device = str(result.get("device", "cpu"))
    share = None
    if device != "cpu" and tps and result.get("total_params"):
        share = mfu(tps, int(result["total_params"]), int(result.get("layers") or 0), int(result.get("hidden") or 0),
                    int(round(result.get("seq") or 0)), peak_flops(device))
    return Row(batch, result, status, tps, share)


def probe(preset_path: str, overrides: list[str], batch_sizes, steps: int, timeout: float = 600, on_row=None) -> list[Row]:
    """Every candidate in increasing order; after the first out-of-memory the larger are skipped."""
    rows: list[Row] = []
    stopped = None
    for batch in sorted(set(int(b) for b in batch_sizes)):
        if stopped is not None:
            row = Row(batch, {"batch": batch}, "skipped")
        else:
            row = row_of(run_candidate(preset_path, overrides, batch, steps, timeout))
            if row.status == "oom":
                stopped = batch
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def recommend(rows: list[Row]) -> Row | None:
    """The largest batch that ran and stayed within the headroom."""
    fitting = [r for r in rows if r.status == "ok"]
    return max(fitting, key=lambda r: r.batch) if fitting else None


def apply(preset_path: str, batch: int):
    """Write the recommended batch into the preset file (comments kept, atomically)."""
    from hftui.core.preset import load, save

    preset = load(preset_path, migrate=False)
    return save(preset.with_value("args.per_device_train_batch_size", int(batch)))
