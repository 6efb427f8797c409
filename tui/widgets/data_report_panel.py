"""The data report in the wizard's dataset step: the same text `hftui data` prints.

The report tokenizes with the preset's tokenizer, which imports torch and transformers; it runs in
a child process (`python -m hftui.core.data_report`, the preset's TOML on its stdin, JSON back),
never in the wizard. An edit starts a new report after a short pause and kills the one under way;
leaving the dataset step or the app kills it too (the step starts it again when shown), so
quitting never waits for it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from hftui.core import preset as preset_mod
from hftui.core.data_report import DEFAULT_SAMPLE, problems_from
from hftui.core.data_report_text import render
from hftui.core.i18n import _
from hftui.core.preset import Preset
from hftui.core.printable import printable

# Edits come in bursts (typing a path): wait this long for the last one before starting.
SETTLE_SECONDS = 0.6
REPORT_MODULE = "hftui.core.data_report"


class DataReportPanel(Vertical):
    """A status line, then the report (or its problems)."""

    DEFAULT_CSS = """
    DataReportPanel { height: auto; margin-top: 1; }
    DataReportPanel #data-report-status { color: $text-muted; }
    DataReportPanel.-error #data-report-status { color: $error; }
    DataReportPanel #data-report-body { height: auto; }
    """

    def __init__(self, *, sample: int = DEFAULT_SAMPLE, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sample = sample
        self.report: dict | None = None
        self._key: tuple | None = None
        self._child: asyncio.subprocess.Process | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="data-report-status", markup=False)
        yield Static("", id="data-report-body", markup=False)

    def load(self, preset: Preset) -> None:
        """Start a report when what it depends on changed (any edit of the preset may)."""
        text = preset_mod.dumps(preset)
        path = str(preset.path or preset.base_dir / "untitled.toml")
        key = (text, path)
        if key == self._key:
            return
        self._key = key
        if not preset.get("dataset.path") and not preset.get("dataset.data_files"):
            self.workers.cancel_group(self, "data-report")
            self._set("", "")
            return
        self._set(_("… data report: tokenizing with the preset's tokenizer"), None)
        self._run(text, path)

    def _set(self, status: str, body: str | None, error: bool = False) -> None:
        line = self.query_one("#data-report-status", Static)
        line.update(status)
        line.display = bool(status)
        if body is not None:
            self.query_one("#data-report-body", Static).update(body)
        self.set_class(error, "-error")

    @work(exclusive=True, exit_on_error=False, group="data-report")
    async def _run(self, text: str, path: str) -> None:
        await asyncio.sleep(SETTLE_SECONDS)
        answer = None
        while answer is None:
            while not self.is_on_screen:  # another step is shown: report when the dataset step is back
                await asyncio.sleep(SETTLE_SECONDS)
            try:
                answer = await self._ask_child(text, path)
            except (OSError, ValueError) as exc:
                self._set(_("✗ data report: {error}", error=printable(exc)), "", error=True)
                return
        if "problems" in answer:
            problems = problems_from(answer["problems"])
            self.report = None
            self._set(_("✗ data report: the data cannot be prepared"), "\n".join(p.format() for p in problems), error=True)
            return
        self.report = answer["report"]
        self._set("", render(self.report))

    async def _ask_child(self, text: str, path: str) -> dict | None:
        """The child's answer; None when the dataset step was left before it came (the child is
        killed then: its tokenizing would take the CPU from whatever the person does next)."""
        env = dict(os.environ, TOKENIZERS_PARALLELISM="false", HF_DATASETS_DISABLE_PROGRESS_BARS="1")
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", REPORT_MODULE, path, str(self.sample),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=env, start_new_session=True,
        )
        self._child = child
        talk = asyncio.ensure_future(child.communicate(text.encode("utf-8")))
        try:
            while not talk.done():
                await asyncio.wait([talk], timeout=SETTLE_SECONDS)
                if not talk.done() and not self.is_on_screen:
                    talk.cancel()
                    return None
            out, err = talk.result()
        finally:
            self._child = None
            _kill(child)
            if not talk.done():
                talk.cancel()
        if child.returncode != 0 or not out.strip():
            last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [_("exit code {code}", code=child.returncode)]
            raise ValueError(_("the report stopped: {last}", last=last[0][:300]))
        return json.loads(out)

    def on_unmount(self) -> None:
        if self._child is not None:
            _kill(self._child)


def _kill(child: asyncio.subprocess.Process) -> None:
    """End the report's process group at once (a cancelled report, or the app quitting)."""
    if child.returncode is not None:
        return
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
