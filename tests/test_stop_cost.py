"""The per-step stop check costs nothing: no file stat on the training thread, no collective
with one process; the stop file is still honoured within a second."""

from __future__ import annotations

import os
import threading
import time
from types import SimpleNamespace

from hftui.core.run import stop
from hftui.core.run.folder import STOP_FILE


def test_steps_never_touch_the_disk_and_a_stop_file_still_stops(tmp_path, monkeypatch):
    request = stop.StopRequest(tmp_path)
    callback = stop.make_stop_callback(request)
    control = SimpleNamespace(should_save=False, should_training_stop=False, should_evaluate=True)
    training_thread = threading.get_ident()
    stats_here = []
    real_stat = os.stat

    def counting_stat(path, *a, **kw):
        if threading.get_ident() == training_thread:
            stats_here.append(str(path))
        return real_stat(path, *a, **kw)

    monkeypatch.setattr(os, "stat", counting_stat)
    for step in range(1, 501):
        callback.on_step_end(None, SimpleNamespace(global_step=step), control)
    assert stats_here == [] and not control.should_training_stop

    (tmp_path / STOP_FILE).touch()
    deadline = time.time() + 2 * stop.WATCH_S + 2
    step = 501
    while not control.should_training_stop and time.time() < deadline:
        callback.on_step_end(None, SimpleNamespace(global_step=step), control)
        step += 1
        time.sleep(0.01)
    assert control.should_training_stop and control.should_save and callback.stopped_at == step - 1
    assert stats_here == []


def test_several_processes_compare_flags_on_the_first_step_then_every_few(monkeypatch):
    import torch.distributed as dist

    assert [s for s in range(1, 20) if stop.agree_now(s)] == list(range(1, 20))  # one process: every step
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    every = stop.AGREE_EVERY
    assert [s for s in range(1, 3 * every + 1) if stop.agree_now(s)] == [1, every, 2 * every, 3 * every]
