"""The hftui wizard app: it owns the preset, replaces it on every edit and hands the screen a
fresh `WizardState`; the screen asks for changes with messages.

Nothing heavy runs before the first frame: the option catalog is read from its cache (or built
by a child process), GPUs are detected in a thread, validation runs in a thread after each
edit. torch, transformers and datasets are never imported to draw the wizard.
"""

from __future__ import annotations

import atexit
import copy
import gc
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from hftui.core import gpu
from hftui.core.doctor import precision_default
from hftui.core.extras import trainer_missing
from hftui.core.i18n import N_, _
from hftui.core.options import catalog as catalog_mod
from hftui.core.options.steps import step_of
from hftui.core.preset import Preset, is_shipped
from hftui.core.problems import PresetError, Problem
from hftui.tui import startup
from hftui.tui.format import goes_on
from hftui.tui.i18n import t, translate_bindings
from hftui.tui.review_text import launch_text, memory_text, run_validation
from hftui.tui.catalog_flow import CatalogFlow
from hftui.tui.save_flow import SaveFlow
from hftui.tui.screens.confirm import ConfirmScreen
from hftui.tui.screens.wizard import WizardScreen
from hftui.tui.widgets.dataset_preview import in_daemon_thread
from hftui.tui.widgets.dataset_verdict import DatasetVerdict, read_key
from hftui.tui.widgets.option_field import MISSING
from hftui.tui.wizard_state import HARDWARE_NOTES, WizardState, hardware_note

TRUST_QUESTION = N_(
    "This preset sets model.trust_remote_code = true: Python code downloaded with the model "
    "will run on this machine. Only continue if you trust its authors. Run it?"
)


class HftuiApp(CatalogFlow, SaveFlow, App):
    """The wizard. `gpus` injects the hardware (tests, snapshots); None detects it in a thread."""

    CSS_PATH = "app.tcss"
    TITLE = "hftui"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+q", "quit", N_("Quit"), id="app.quit", tooltip=N_("Quit (asks first when there are unsaved changes)"), priority=True),
        Binding("ctrl+o,f10", "runs", N_("Runs"), id="app.runs", tooltip=N_("The runs on this machine: attach, stop, resume")),
    ]

    def __init__(self, preset: Preset, *, fresh: bool = False, gpus: list | None = None, started: float | None = None, warm_catalog: bool = True) -> None:
        super().__init__()
        translate_bindings(self)
        self.preset = preset
        self.fresh = fresh
        self.shipped = is_shipped(preset.path)
        self.saved_data = copy.deepcopy(preset.data) if preset.path and preset.source_text is not None else None
        self.gpus = gpus
        self._detect = gpus is None
        self.started = startup.STARTED if started is None else started
        self.warm_catalog = warm_catalog
        self.field_errors: dict[str, str] = {}
        self.taken: dict[str, int] = {}  # per key, the serial of the last field change taken in
        self.problems: list[Problem] = []
        self.data_read: tuple[tuple, Problem] | None = None  # (read_key, problem): the data the preview could not read
        self.validated = False
        self.trust_confirmed = False
        self.last_run = None
        self.startup_line = ""
        self._catalogs: dict[str, Any] = {}
        self._catalog_build = None  # the child building the catalog (catalog_build.CatalogBuild)
        self._catalog_poll = None  # the timer that looks at it
        self._validate_timer = None
        self.initial_data = copy.deepcopy(preset.data)

    # -- start-up --------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self._detect:
            self._detect_gpus()
        else:
            self._apply_hardware_defaults()
        self.push_screen(WizardScreen(self.state))
        if self.catalog() is None and self.warm_catalog:
            self._build_catalog()
        else:
            self.schedule_validation(0)

    def on_ready(self) -> None:
        self.startup_line = startup.log_startup(self.started)
        self.log(self.startup_line)

    @property
    def wizard(self) -> WizardScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, WizardScreen)), None)

    @property
    def state(self) -> WizardState:
        """What the wizard screen draws, as of now."""
        return WizardState(
            preset=self.preset,
            catalog=self.catalog(),
            field_errors=dict(self.field_errors),
            problems=tuple(self.problems) + self._data_read_problems(),
            validated=self.validated,
            dirty=self.dirty,
            shipped=self.shipped,
            notes={kind: self.hardware_note(kind) for kind in HARDWARE_NOTES},
            taken=dict(self.taken),
        )

    def _data_read_problems(self) -> tuple[Problem, ...]:
        """The dataset preview's failure to read the data, while the preset names that data and
        validation has found nothing wrong with the dataset itself (it would say it first)."""
        if self.data_read is None or self.data_read[0] != read_key(self.preset):
            return ()
        if any(p.is_error and step_of(p.path) == "dataset" for p in self.problems):
            return ()
        return (self.data_read[1],)

    def on_dataset_verdict_read(self, event: DatasetVerdict.Read) -> None:
        self.data_read = None if event.problem is None else (event.key, event.problem)
        self._announce()

    def _announce(self) -> None:
        screen = self.wizard
        if screen is not None:
            screen.update_state(self.state)

    # -- hardware --------------------------------------------------------------------------
    @work(exclusive=True, exit_on_error=False, group="gpu", name="gpu")
    async def _detect_gpus(self) -> None:
        self._gpus_ready(await in_daemon_thread(gpu.detect))  # a slow driver never holds up quitting

    def _gpus_ready(self, gpus: list) -> None:
        self.gpus = gpus
        self._apply_hardware_defaults()
        self._announce()

    def _apply_hardware_defaults(self) -> None:
        """A new preset starts with the precision this machine supports."""
        if not self.fresh or self.gpus is None:
            return
        precision = self.recommended_precision()
        if precision in ("bf16", "fp16") and not self.preset.has("args.bf16") and not self.preset.has("args.fp16"):
            self.preset = self.preset.with_value(f"args.{precision}", True)
        self.initial_data = copy.deepcopy(self.preset.data)

    def recommended_precision(self) -> str:
        return precision_default(self.gpus or [])[0]

    def hardware_note(self, kind: str) -> str:
        return hardware_note(kind, self.gpus)

    # -- editing ---------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.saved_data != self.preset.data

    def on_wizard_screen_edit_requested(self, event: WizardScreen.EditRequested) -> None:
        self.edit(event.path, event.value, event.error, event.serial)

    def on_wizard_screen_changes_requested(self, event: WizardScreen.ChangesRequested) -> None:
        self.apply_changes(event.changes)

    def edit(self, path: str, value: Any, error: str | None = None, serial: int | None = None) -> None:
        """A field changed: record an invalid text, or replace the preset."""
        if serial is not None:
            self.taken[path] = serial
        if error is not None:
            self.field_errors[path] = error
            self._announce()
            return
        self.field_errors.pop(path, None)
        self.apply_changes(((path, value),))

    def apply_changes(self, changes) -> None:
        """(path, value) pairs in order; MISSING removes the key. A key set here, or a section
        removed, takes the place of what was typed into its fields, invalid text included."""
        new = self.preset
        for path, value in changes:
            self.field_errors = {k: v for k, v in self.field_errors.items() if k != path and not k.startswith(path + ".")}
            new = new.without(path) if value is MISSING else new.with_value(path, value)
        if new.data == self.preset.data:
            self._announce()
            return
        self.replace_preset(new)

    def replace_preset(self, new: Preset) -> None:
        old = self.preset
        self.preset = new
        if catalog_mod.config_key(old.trainer_type, old.task) != catalog_mod.config_key(new.trainer_type, new.task):
            self.field_errors = {k: v for k, v in self.field_errors.items() if not k.startswith("args.")}
            if self.catalog() is None and self.warm_catalog:
                self._build_catalog()  # a trainer type whose options were never read here
        self._announce()
        self.schedule_validation()

    # -- validation ------------------------------------------------------------------------
    def schedule_validation(self, delay: float = 0.3) -> None:
        if self._validate_timer is not None:
            self._validate_timer.stop()
        self._validate_timer = self.set_timer(delay, self._validate) if delay else None
        if not delay:
            self._validate()

    def _validate(self) -> None:
        if self.catalog() is None and not trainer_missing(self.preset.trainer_type):
            return  # validation reads the catalog; it runs again once the catalog is ready
        self._validate_worker(self.preset)

    @work(exclusive=True, exit_on_error=False, group="validate", name="validate")
    async def _validate_worker(self, preset: Preset) -> None:
        # a daemon thread: quitting never waits for a check that reads a model's shape
        self._validated(preset, await in_daemon_thread(run_validation, preset))

    def _validated(self, preset: Preset, problems: list[Problem]) -> None:
        if preset is not self.preset:
            return
        self.problems = problems
        self.validated = True
        self._announce()

    def has_errors(self) -> bool:
        return bool(self.field_errors) or any(p.is_error for p in self.problems + list(self._data_read_problems()))

    # -- what was typed comes first ----------------------------------------------------------
    def after_typing(self, then) -> None:
        """Run `then` once the keys typed before it have reached the preset (`WizardScreen.after_typing`)."""
        screen = self.wizard
        if screen is None:
            then()
        else:
            screen.after_typing(then)

    # -- review extras (memory estimate, launch command) -----------------------------------
    def on_wizard_screen_review_extras_requested(self, event: WizardScreen.ReviewExtrasRequested) -> None:
        self._review_worker(self.preset, self.gpus or [])

    @work(exclusive=True, exit_on_error=False, group="review", name="review")
    async def _review_worker(self, preset: Preset, gpus: list) -> None:
        # daemon threads: the estimate imports torch, and quitting must not wait for that
        memory = await in_daemon_thread(memory_text, preset)
        launch = await in_daemon_thread(launch_text, preset, gpus)
        self._review_ready(preset, memory, launch)

    def _review_ready(self, preset: Preset, memory: str, launch: str) -> None:
        screen = self.wizard
        if screen is not None and preset is self.preset:
            screen.show_review_extras(memory, launch)

    # -- save ------------------------------------------------------------------------------
    def on_wizard_screen_save_requested(self, event: WizardScreen.SaveRequested) -> None:
        self.action_save()

    # -- run -------------------------------------------------------------------------------
    def on_wizard_screen_run_requested(self, event: WizardScreen.RunRequested) -> None:
        self.action_run()

    def action_run(self) -> None:
        self.after_typing(self._run)

    def _run(self) -> None:
        if self.has_errors():
            self.notify(_("Fix the errors listed in the review first."), title=_("Not started"), severity="error")
            if self.wizard is not None:
                self.wizard.goto("review")
            return
        if self.preset.get("model.trust_remote_code") is True and not self.trust_confirmed:

            def answer(yes: bool | None) -> None:
                if yes:
                    self.trust_confirmed = True
                    self._run()

            self.push_screen(ConfirmScreen(_(TRUST_QUESTION), yes=_("Trust and run"), no=_("Cancel")), answer)
            return
        if self.dirty or self.preset.path is None or self.shipped:
            self._save(then=self._start)
            return
        self._start()

    def _start(self) -> None:
        self.notify(_("starting the run…"), timeout=2)
        self._run_worker(self.preset, self.trust_confirmed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run", name="run")
    def _run_worker(self, preset: Preset, trust: bool):
        from hftui.core.run.start import start_run  # off the first frame: only a run needs it

        return start_run(preset, trust_remote_code=trust)  # validates first: PresetError lists the errors

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR:
            error = worker.error
            if isinstance(error, PresetError):
                self.problems = list(error.problems)
                self._announce()
                self.notify("; ".join(p.message for p in error.problems)[:300], title=_("Not started"), severity="error")
            elif worker.name == "run":
                self.notify(f"{type(error).__name__}: {error}", title=_("The run did not start"), severity="error", timeout=10)
            else:
                self.log(f"worker {worker.name} failed: {error!r}")
        elif event.state == WorkerState.SUCCESS and worker.name == "run":
            self.last_run = worker.result
            from hftui.tui.screens.monitor import MonitorScreen  # off the first frame (charts)

            self.push_screen(MonitorScreen(Path(worker.result.run_dir)))

    # -- quit ------------------------------------------------------------------------------
    def needs_saving(self) -> bool:
        """Edits that would be lost; a new preset nobody typed into is not worth a question."""
        if self.field_errors:
            return True  # typed text that is not in the preset
        if self.saved_data is None:
            return self.preset.data != self.initial_data
        return self.dirty

    def action_runs(self) -> None:
        from hftui.tui.screens.runs import RunsScreen  # off the first frame

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    async def action_quit(self) -> None:
        self.after_typing(self._quit)

    def _quit(self) -> None:
        if not self.needs_saving():
            self._leave()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._leave()

        self.push_screen(ConfirmScreen(t("unsaved"), yes=_("Quit without saving"), no=_("Stay")), answer)

    def _leave(self) -> None:
        # The process ends with the app: a last collection of every object the wizard made
        # would only add a second or more between Ctrl+Q and the shell prompt.
        atexit.register(gc.freeze)
        self.exit(message=self.runs_going_on())

    def runs_going_on(self) -> str | None:
        """What to print in the terminal on leaving while a run started or watched here still
        trains: it goes on without the wizard, and how to come back to it."""
        dirs = [Path(self.last_run.run_dir)] if self.last_run is not None else []
        dirs += [Path(d) for d in (getattr(s, "run_dir", None) for s in self.screen_stack) if d is not None]
        if not dirs:
            return None
        from hftui.core.run.record import RunRecord  # only when a run was started or watched

        live = []
        for run_dir in dict.fromkeys(dirs):
            try:
                record = RunRecord.load(run_dir)
            except Exception:
                continue  # a folder gone or unreadable: nothing to come back to
            if record.is_active and record.id not in live:
                live.append(record.id)
        return "\n".join(goes_on(run_id) for run_id in live) or None
