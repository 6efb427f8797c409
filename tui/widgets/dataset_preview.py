"""The first rows, the columns and the row count of the preset's training data.

Loading runs in a daemon thread, the only place the wizard imports `datasets`: a load that
takes long (a huge file, a slow disk) never holds up the wizard or its quitting. Only regular
files are handed to the loader (a named pipe would block it for good); a Hub dataset is not
fetched while offline, and the note says so.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from hftui.core.i18n import _
from hftui.core.options.sections import BUILDERS, column_name, column_needs
from hftui.core.preset import Preset
from hftui.core.regular_file import check_regular
from hftui.tui.widgets.data_report_panel import DataReportPanel

PREVIEW_ROWS = 5


@dataclass
class Preview:
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    num_rows: int | None = None
    split: str = "train"
    error: str | None = None
    note: str | None = None


def _files(preset: Preset):
    files = preset.get("dataset.data_files")
    if files is None:
        return None
    if isinstance(files, str):
        return str(preset.resolve(files))
    if isinstance(files, list):
        return [str(preset.resolve(f)) for f in files]
    if isinstance(files, dict):
        return {k: (str(preset.resolve(v)) if isinstance(v, str) else [str(preset.resolve(x)) for x in v]) for k, v in files.items()}
    return files


def load_preview(preset: Preset) -> Preview:
    """Read the training split (blocking: call it from a worker)."""
    path = preset.get("dataset.path") or ""
    split = preset.get("dataset.train_split") or "train"
    if not path:
        return Preview(error=_("no dataset yet: set dataset.path (json, csv, parquet, text, a folder or a Hub id)"), split=split)
    files = _files(preset)
    local_dir = preset.resolve(path)
    is_local = path in BUILDERS or local_dir.exists()
    if path in BUILDERS and not files:
        return Preview(error=_("dataset.path = {path} needs dataset.data_files (a file relative to the preset)", path=repr(path)), split=split)
    if path in BUILDERS:
        for f in ([files] if isinstance(files, str) else list(files.values()) if isinstance(files, dict) else files):
            for one in ([f] if isinstance(f, str) else f):
                if any(ch in one for ch in "*?["):
                    continue  # a pattern: its files are checked by validate
                refused = check_regular(one)
                if refused is not None:
                    return Preview(error=_("data file {file} {reason}", file=one, reason=refused.text), split=split)
    if not is_local and os.environ.get("HF_DATASETS_OFFLINE", "") in ("1", "true") or not is_local and os.environ.get("HF_HUB_OFFLINE", "") in ("1", "true"):
        return Preview(note=_("⇣ {path}: offline, no preview; it is downloaded when the run starts on a machine with internet", path=path), split=split)
    try:
        import datasets

        datasets.disable_progress_bars()
        kwargs = {"split": split}
        if files is not None:
            if isinstance(files, dict) and "eval" in files and split not in files:
                kwargs["data_files"] = {k: v for k, v in files.items()}
            else:
                kwargs["data_files"] = files
        if preset.get("dataset.name"):
            kwargs["name"] = preset.get("dataset.name")
        target = str(local_dir) if (path not in BUILDERS and local_dir.exists()) else path
        data = datasets.load_dataset(target, **kwargs)
        rows = [data[i] for i in range(min(PREVIEW_ROWS, len(data)))]
        return Preview(columns=list(data.column_names), rows=rows, num_rows=len(data), split=split)
    except Exception as exc:  # a person's data problem: one line, never a traceback
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Preview(error=_("could not read the dataset: {message}", message=message[:300]), split=split)


def _cell(value) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "…"


# The name of the threads `in_daemon_thread` starts (tests wait for them between tests).
BACKGROUND_THREAD = "hftui-background"
# One background job at a time: two threads importing transformers' lazy modules at once can meet
# a half-initialised module ("cannot import name ...") and report a problem that is not there.
_ONE_AT_A_TIME = threading.Lock()


async def in_daemon_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a daemon thread: cancelling the wait (quitting) never waits for the call,
    and the process can exit while it still runs, where a thread worker would be joined."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    def run() -> None:
        try:
            with _ONE_AT_A_TIME:
                result, error = fn(*args), None
        except BaseException as exc:  # handed to the awaiting worker
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the app has ended: nobody waits for the answer
            pass

    threading.Thread(target=run, name=BACKGROUND_THREAD, daemon=True).start()
    return await future


class DatasetPreview(Vertical):
    """Summary line, column-mapping check, a small table of the first rows, and the data report."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.preview: Preview | None = None
        self._key: tuple | None = None
        self._needs: tuple[tuple[tuple[str, str], ...], ...] = ()  # each need: (key, column) pairs, one of them

    def compose(self) -> ComposeResult:
        yield Static("", id="dataset-summary", markup=False)
        yield Static("", id="dataset-mapping", markup=False)
        yield DataTable(id="dataset-rows", show_cursor=False, zebra_stripes=True)
        yield DataReportPanel(id="data-report")

    def load(self, preset: Preset) -> None:
        """(Re)load when the data source changed; re-check the column mapping either way. The
        data report follows every change (the tokenizer, max_length and batch size count too)."""
        self.query_one("#data-report", DataReportPanel).load(preset)
        dataset = preset.section("dataset")
        self._needs = tuple(tuple((key, column_name(dataset, key)) for key in need) for need in column_needs(preset.trainer_type, preset.task))
        key = (preset.get("dataset.path"), repr(preset.get("dataset.data_files")), preset.get("dataset.name"), preset.get("dataset.train_split"), str(preset.base_dir))
        if key == self._key:
            self._show_mapping()
            return
        self._key = key
        self.query_one("#dataset-summary", Static).update(_("… reading the dataset"))
        self._load(preset)

    @work(exclusive=True, exit_on_error=False, group="dataset-preview")
    async def _load(self, preset: Preset) -> None:
        self._show(await in_daemon_thread(load_preview, preset))

    def _show(self, preview: Preview) -> None:
        self.preview = preview
        summary = self.query_one("#dataset-summary", Static)
        table = self.query_one("#dataset-rows", DataTable)
        table.clear(columns=True)
        self.set_class(preview.error is not None, "-error")
        if preview.error:
            summary.update(f"✗ {preview.error}")
        elif preview.note:
            summary.update(preview.note)
        else:
            summary.update(_("split {split}: {rows} rows · columns: {columns}", split=preview.split, rows=preview.num_rows, columns=", ".join(preview.columns)))
            table.add_columns(*preview.columns)
            for row in preview.rows:
                table.add_row(*[_cell(row.get(c)) for c in preview.columns])
        self._show_mapping()

    def _show_mapping(self) -> None:
        mapping = self.query_one("#dataset-mapping", Static)
        p = self.preview
        if p is None or p.error or p.note or not self._needs:
            mapping.update("")
            return
        parts = []
        missing = False
        for need in self._needs:
            found = [(key, column) for key, column in need if column in p.columns]
            if found:
                parts += [f"✓ {key} → {column}" for key, column in found]
            else:
                missing = True
                parts += [_("✗ {key} → {column} is not a column", key=key, column=repr(column)) for key, column in need]
        mapping.update("   ".join(parts))
        self.set_class(missing, "-missing")
