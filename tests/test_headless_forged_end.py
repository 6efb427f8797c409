"""`hftui run`'s display ends with the run, not with a line in events.jsonl: an `end` line that
is not the supervisor's (stray, or forged) while the run goes on leaves it following."""

from __future__ import annotations

import io
import threading
import time

from rich.console import Console

from test_monitor import make_run, sleeper  # noqa: F401 (fixture)
from hftui.core.run.events import EventWriter
from hftui.core.run.record import update_record
from hftui.tui import headless


def test_a_forged_end_line_does_not_end_the_display(tmp_path, sleeper, monkeypatch):  # noqa: F811
    monkeypatch.setattr(headless, "FINAL_WAIT_S", 0.3)
    monkeypatch.setattr(headless, "POLL_S", 0.05)
    record = make_run(tmp_path / "out", "r-forged", pid=sleeper.pid, max_steps=40)
    writer = EventWriter(record.events_path)
    writer.write("start", 0, max_steps=40, device="cpu")
    writer.write("log", 1, loss=3.0)
    writer.write("end", 1, status="completed", error=None)  # not the supervisor's: the run goes on
    out = io.StringIO()
    display = headless.HeadlessDisplay(record, console=Console(file=out, width=200), live=False)
    follower = threading.Thread(target=display.follow, daemon=True)
    follower.start()
    time.sleep(1.5)
    assert follower.is_alive(), "the display stopped at a forged end line while the run goes on"
    writer.write("log", 2, loss=2.0)  # training goes on
    writer.close()
    update_record(record.run_dir, status="completed", exit_code=0, ended=time.time())  # the supervisor's word
    follower.join(timeout=10)
    assert not follower.is_alive()
    text = out.getvalue()
    assert "step 2" in text and "goes on" in text, text
    assert display.final_status() == "completed"
