"""The runs of this machine: a filterable table; attach, stop and resume from it, and mark
two or more to compare them (space marks, c opens the compare view).

The list comes from `core.run.index.list_runs()` (the index, each run's `run.json`, checked
for a live supervisor) and the tail of each run's `events.jsonl` for its step; it is re-read in
a thread every few seconds, so a slow disk never freezes the table.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from hftui.core.i18n import N_, _
from hftui.core.problems import PresetError
from hftui.core.run.events import last_progress
from hftui.core.run.folder import DELETED, FAILED, RUNNING, STARTING, STOPPED
from hftui.core.run.index import list_runs
from hftui.core.run.record import RunRecord
from hftui.core.run.start import resume_run
from hftui.core.run.stop import request_stop
from hftui.tui.format import STATUS_STYLE, printable, status_word
from hftui.tui.i18n import translate_bindings
from hftui.tui.screens.compare import CompareScreen
from hftui.tui.screens.confirm import ConfirmScreen
from hftui.tui.screens.monitor import MonitorScreen, stop_question
from hftui.tui.screens.try_model import TryModelScreen

REFRESH_S = 3.0
STOPPABLE = (STARTING, RUNNING, DELETED)  # a run whose folder was deleted still trains: stoppable
RESUMABLE = (STOPPED, FAILED)
MARK = "●"  # in the first column of a run marked for comparison
# What the output folder keeps, at least, when the table is narrow; the name gives way first.
FOLDER_MIN, NAME_MIN = 20, 10
DATED_ID = re.compile(r"^\d{8}-(?=\d{6}-)")  # an id's date, which the age column tells when room is short


@dataclass(frozen=True)
class RunRow:
    id: str
    name: str
    status: str
    step: str
    started: float | None  # seconds since the epoch
    output_dir: str
    run_dir: str

    def matches(self, needle: str) -> bool:
        needle = needle.lower()
        return any(needle in str(v).lower()
                   for v in (self.id, self.name, self.status, status_word(self.status), self.output_dir))


def _row(record) -> RunRow:
    try:
        step, max_steps = last_progress(record.events_path, record.max_steps)
    except (OSError, ValueError):
        step, max_steps = None, record.max_steps
    steps = "—" if step is None else (f"{step}/{max_steps}" if max_steps else str(step))
    name = record.name or ""
    if record.broken:  # the row names the unreadable file and why
        name = _("broken record {file}", file=record.broken)
    return RunRow(record.id, name, record.status, steps, record.started or record.created or None,
                  record.output_dir or "", str(record.run_dir))


def age(started: float | None, now: float) -> str:
    """How long ago a run started, in a few cells: `45s`, `12m`, `3h`, `2d`."""
    if not started:
        return "—"
    seconds = max(0, int(now - started))
    for unit, text in ((86400, N_("{n}d")), (3600, N_("{n}h")), (60, N_("{n}m"))):
        if seconds >= unit:
            return _(text, n=seconds // unit)
    return _("{n}s", n=seconds)


def path_end(path: str, width: int) -> str:
    """The end of `path` that fits in `width` cells, from a folder boundary where one fits
    (`/home/me/runs/quickstart` in 18 cells: `…/runs/quickstart`)."""
    if cell_len(path) <= width:
        return path
    tail = ""
    for ch in reversed(path):
        if cell_len(ch + tail) > width - 1:
            break
        tail = ch + tail
    cut = tail.find("/")
    return ("…" + (tail[cut:] if 0 < cut < len(tail) - 1 else tail)) if width > 0 else ""


def fit(cells: list[list], headers: list[str], width: int) -> list[list]:
    """Rows of (mark, id, name, status, step, age, folder) shortened to fit `width` cells, so the
    folder keeps the end that tells runs apart: first the ids lose their date, then the name
    gives way down to NAME_MIN cells, then the folder loses its start."""
    def widest(i: int) -> int:
        return max([cell_len(headers[i])] + [cell_len(c[i]) for c in cells])

    def room() -> int:
        return width - sum(widest(i) for i in (0, 1, 3, 4, 5))
    if widest(2) + widest(6) > room():
        for c in cells:
            c[1] = DATED_ID.sub("", c[1])
    name, folder = widest(2), widest(6)
    if name + folder > room():
        name = max(min(name, NAME_MIN), min(name, room() - min(folder, FOLDER_MIN)))
        folder = max(room() - name, 4)
    for c in cells:
        c[2], c[6] = Text(c[2]), path_end(c[6], folder)
        c[2].truncate(max(name, 1), overflow="ellipsis")
    return cells


def _same_run(row: RunRow, run_dir: str) -> bool:
    """The row of this run folder (named as the index names it, or by its id: its folder's name)."""
    return row.run_dir == run_dir or row.id == Path(run_dir).name


class RunsScreen(Screen[None]):
    """Every run, newest first. Enter attaches; s stops; r resumes; / filters; space marks
    runs and c compares the marked ones."""

    DEFAULT_CSS = """
    RunsScreen #runs-filter { margin: 0 1; }
    RunsScreen #runs-table { height: 1fr; }
    RunsScreen #runs-empty { padding: 1 2; color: $text-muted; display: none; }
    RunsScreen #runs-empty.-shown { display: block; }
    """
    BINDINGS = [
        Binding("a", "attach", N_("Attach"), id="runs.attach", key_display="enter/a",
                tooltip=N_("Open the live pane of the selected run")),
        Binding("enter", "attach", N_("Attach"), show=False, id="runs.attach-enter"),
        Binding("s", "stop", N_("Stop"), id="runs.stop", tooltip=N_("Ask the selected run to checkpoint and end")),
        Binding("r", "resume", N_("Resume"), id="runs.resume", tooltip=N_("Continue a stopped or failed run")),
        Binding("t", "try_model", N_("Try"), id="runs.try",
                tooltip=N_("Try the selected run's trained model: type an input, read the answer")),
        Binding("space,m", "mark", N_("Mark"), id="runs.mark", key_display="space/m",
                tooltip=N_("Mark or unmark the selected run for comparison")),
        Binding("c", "compare", N_("Compare"), id="runs.compare",
                tooltip=N_("Compare the marked runs: curves overlaid, the keys that differ")),
        Binding("slash", "filter", N_("Filter"), id="runs.filter", tooltip=N_("Filter by id, name, status or folder")),
        Binding("f5", "reload", N_("Refresh"), id="runs.reload", show=False,  # the list re-reads itself
                tooltip=N_("Read the run list again")),
        Binding("escape", "close", N_("Back"), id="runs.close"),
    ]
    # The table's columns: (key, header); the header in the reader's language.
    COLUMNS = (("mark", " "), ("id", N_("id")), ("name", N_("name")), ("status", N_("status")), ("step", N_("step")),
               ("age", N_("age")), ("output", N_("output dir")))

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        translate_bindings(self)
        self.rows: list[RunRow] = []
        self.records: dict[str, object] = {}  # run_dir -> the record listed (a deleted folder has no other)
        self.loaded = False
        self.marked: list[str] = []  # run_dirs marked for comparison, in the order marked
        self._opened: MonitorScreen | None = None  # the live pane opened from here
        self._want: str | None = None  # the run the cursor goes to once it is listed

    def compose(self) -> ComposeResult:
        yield Input(placeholder=_("filter: id, name, status or folder  (/)"), id="runs-filter")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(_("no runs on this machine yet: start one from the wizard or with 'hftui run PRESET'"),
                     id="runs-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.title = _("runs")
        table = self.query_one(DataTable)
        for key, header in self.COLUMNS:
            table.add_column(_(header) if header.strip() else header, key=key)
        table.focus()
        self._load()
        self.set_interval(REFRESH_S, self._load)

    def on_screen_resume(self) -> None:
        if self._opened is not None:
            # Back from the live pane: the cursor goes to the run it showed last (after a
            # Resume there, the new run, not the one it opened with).
            self._want, self._opened = str(self._opened.run_dir), None
        self._load()

    def _open_pane(self, run_dir: str | Path) -> None:
        self._opened = MonitorScreen(Path(run_dir))
        self.app.push_screen(self._opened)

    @work(thread=True, exclusive=True, group="runs-load", exit_on_error=False)
    def _load(self) -> None:
        try:
            records = list_runs()
            rows = [_row(r) for r in records]
        except OSError as exc:
            self.app.call_from_thread(self.notify, _("cannot read the run list: {error}", error=exc), severity="error")
            return
        self.app.call_from_thread(self._show, rows, {str(r.run_dir): r for r in records})

    def _show(self, rows: list[RunRow], records: dict | None = None) -> None:
        self.rows = rows
        self.records = records or {}
        self.loaded = True
        listed = {r.run_dir for r in rows}
        self.marked = [d for d in self.marked if d in listed]  # a run that left the list is unmarked
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        needle = self.query_one("#runs-filter", Input).value.strip()
        shown = [r for r in self.rows if not needle or r.matches(needle)]
        selected = self.selected_run()
        targets = [t for t in (self._want, selected.run_dir if selected is not None else None) if t]
        now = time.time()
        cells = fit([[MARK if r.run_dir in self.marked else "", printable(r.id), printable(r.name),
                      status_word(r.status), r.step, age(r.started, now), printable(r.output_dir)] for r in shown],
                     [_(h) if h.strip() else h for _k, h in self.COLUMNS], self._width(len(shown)))
        table.clear()
        for r, row in zip(shown, cells):
            row[3] = Text(row[3], style=STATUS_STYLE.get(r.status, ""))
            table.add_row(*row, key=r.run_dir)
        for target in targets:  # the run wanted, else the one selected before
            i = next((i for i, r in enumerate(shown) if _same_run(r, target)), None)
            if i is not None:
                table.move_cursor(row=i)
                break
        if self._want is not None and any(_same_run(r, self._want) for r in self.rows):
            self._want = None
        self.query_one("#runs-empty", Static).set_class(not self.rows, "-shown")
        self.refresh_bindings()

    def _width(self, rows: int) -> int:
        """The cells a row's texts may take: the table's width less the cells' padding and the
        scrollbar when the rows overflow."""
        table = self.query_one(DataTable)
        width = (table.size.width or self.app.size.width) - 2 * table.cell_padding * len(self.COLUMNS)
        scrolls = rows + 1 > (table.size.height or self.app.size.height)
        return width - (table.styles.scrollbar_size_vertical if scrolls else 0)

    def on_resize(self) -> None:
        if self.loaded:
            self._fill()

    def shown_rows(self) -> list[RunRow]:
        """The rows the table shows now, in order (after the filter)."""
        table = self.query_one(DataTable)
        by_dir = {r.run_dir: r for r in self.rows}
        return [by_dir[str(k.value)] for k in table.rows if str(k.value) in by_dir]

    def selected_run(self) -> RunRow | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return None
        return next((r for r in self.rows if r.run_dir == key.value), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stop and Resume show only for a run they apply to; Compare once two runs are marked."""
        if action == "compare":
            return len(self.marked) >= 2
        if action in ("stop", "resume"):
            row = self.selected_run() if self.is_mounted else None
            if row is None:
                return False
            wanted = STOPPABLE if action == "stop" else RESUMABLE
            return row.status in wanted
        return True

    @on(DataTable.RowHighlighted, "#runs-table")
    def _row_moved(self) -> None:
        self.refresh_bindings()

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self) -> None:
        self._fill()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    @on(DataTable.RowSelected, "#runs-table")
    def _row_chosen(self) -> None:
        self.action_attach()

    def action_mark(self) -> None:
        row = self.selected_run()
        if row is None:
            return
        if row.run_dir in self.marked:
            self.marked.remove(row.run_dir)
        else:
            self.marked.append(row.run_dir)
        table = self.query_one(DataTable)
        table.update_cell(row.run_dir, "mark", MARK if row.run_dir in self.marked else "")
        if table.cursor_row < table.row_count - 1:  # on to the next run, as file managers do
            table.move_cursor(row=table.cursor_row + 1)
        self.refresh_bindings()

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.notify(_("mark two or more runs first (space), then press c"), severity="warning")
            return
        self.app.push_screen(CompareScreen(list(self.marked)))

    def action_try_model(self) -> None:
        row = self.selected_run()
        if row is None:
            return
        self.app.push_screen(TryModelScreen(Path(row.run_dir)))

    def action_filter(self) -> None:
        self.query_one("#runs-filter", Input).focus()

    def action_reload(self) -> None:
        self._load()

    def action_attach(self) -> None:
        row = self.selected_run()
        if row is None:
            return
        self._open_pane(row.run_dir)

    def action_stop(self) -> None:
        row = self.selected_run()
        if row is None:
            return
        if row.status not in STOPPABLE:
            self.notify(_("run {id} is {status}: nothing to stop", id=row.id, status=status_word(row.status)),
                        severity="warning")
            return
        self.app.push_screen(ConfirmScreen(stop_question(row.name or row.id), yes=_("Stop")),
                             lambda yes: self._stop(row) if yes else None)

    @work(thread=True, group="runs-action", exit_on_error=False)
    def _stop(self, row: RunRow) -> None:
        try:
            request_stop(self._record(row))
        except (OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, _("could not stop {id}: {error}", id=row.id, error=exc), severity="error")
            return
        self.app.call_from_thread(self.notify, _("stop requested for {id}", id=row.id))
        self._load()

    def _record(self, row: RunRow) -> RunRecord:
        """The run's record as it is now; the one listed when its run.json is gone or unreadable."""
        try:
            return RunRecord.load(row.run_dir)
        except (OSError, ValueError):
            if row.run_dir not in self.records:
                raise
            return self.records[row.run_dir]

    def action_resume(self) -> None:
        row = self.selected_run()
        if row is None:
            return
        if row.status not in RESUMABLE:
            self.notify(_("run {id} is {status}: only a stopped or failed run can be resumed",
                          id=row.id, status=status_word(row.status)), severity="warning")
            return
        self._resume(row)

    @work(thread=True, group="runs-action", exit_on_error=False)
    def _resume(self, row: RunRow) -> None:
        try:
            new = resume_run(RunRecord.load(row.run_dir))
        except PresetError as exc:
            text = "\n".join(_("{problem} (fix: {hint})", problem=p.message, hint=p.hint) if p.hint else p.message
                             for p in exc.problems)
            self.app.call_from_thread(self.notify, text, title=_("cannot resume"), severity="error", timeout=10)
            return
        except (OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, _("cannot resume {id}: {error}", id=row.id, error=exc), severity="error")
            return

        def opened() -> None:
            self.notify(_("resumed as run {id}", id=new.id))
            self._open_pane(new.run_dir)

        self.app.call_from_thread(opened)

    def action_close(self) -> None:
        if self.query_one("#runs-filter", Input).has_focus and self.query_one("#runs-filter", Input).value:
            self.query_one("#runs-filter", Input).value = ""
            self.query_one(DataTable).focus()
            return
        if len(self.app.screen_stack) <= 1:
            self.app.exit()
        else:
            self.dismiss(None)
