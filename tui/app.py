"""The hftui wizard app: it owns the preset, replaces it on every edit and hands the screen a
fresh `WizardState`; the screen asks for changes with messages.

Nothing heavy runs before the first frame: the option catalog is read from its cache (or built
by a child process), GPUs are detected in a thread, validation runs in a thread after each
edit. torch, transformers and datasets are never imported to draw the wizard.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from hftui.core import gpu
from hftui.core.doctor import precision_default
from hftui.core.options import catalog as catalog_mod
from hftui.core.preset import Preset, is_shipped
from hftui.core.problems import PresetError, Problem
from hftui.tui import startup
from hftui.tui.i18n import t
from hftui.tui.review_text import launch_text, memory_text, run_validation
from hftui.tui.save_flow import SaveFlow
from hftui.tui.screens.confirm import ConfirmScreen
from hftui.tui.screens.wizard import WizardScreen
from hftui.tui.widgets.option_field import MISSING
from hftui.tui.wizard_state import HARDWARE_NOTES, WizardState, hardware_note

TRUST_QUESTION = (
    "This preset sets model.trust_remote_code = true: Python code downloaded with the model "
    "will run on this machine. Only continue if you trust its authors. Run it?"
)


class HftuiApp(SaveFlow, App):
    """The wizard. `gpus` injects the hardware (tests, snapshots); None detects it in a thread."""

    CSS_PATH = "app.tcss"
    TITLE = "hftui"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Quit (asks first when there are unsaved changes)", priority=True),
        Binding("ctrl+o,f10", "runs", "Runs", id="app.runs", tooltip="The runs on this machine: attach, stop, resume"),
    ]

    def __init__(self, preset: Preset, *, fresh: bool = False, gpus: list | None = None, started: float | None = None, warm_catalog: bool = True) -> None:
        super().__init__()
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
        self.validated = False
        self.trust_confirmed = False
        self.last_run = None
        self.startup_line = ""
        self._catalogs: dict[str, Any] = {}
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
            problems=tuple(self.problems),
            validated=self.validated,
            dirty=self.dirty,
            shipped=self.shipped,
            notes={kind: self.hardware_note(kind) for kind in HARDWARE_NOTES},
            taken=dict(self.taken),
        )

    def _announce(self) -> None:
        screen = self.wizard
        if screen is not None:
            screen.update_state(self.state)

    # -- the catalog -----------------------------------------------------------------------
    def catalog(self, preset: Preset | None = None):
        """The option catalog for the preset's trainer type, from the cache only (None: not built yet)."""
        preset = preset or self.preset
        key = catalog_mod.config_key(preset.trainer_type, preset.task)
        if key not in self._catalogs or self._catalogs[key] is None:
            try:
                self._catalogs[key] = catalog_mod.cached_catalog(preset.trainer_type, preset.task)
            except Exception:
                self._catalogs[key] = None
        return self._catalogs[key]

    @work(thread=True, exclusive=True, exit_on_error=False, group="catalog", name="catalog")
    def _build_catalog(self) -> None:
        """Build every catalog in a child process, so this one never imports transformers."""
        code = "from hftui.core.options.catalog import warm_all; warm_all()"
        env = dict(os.environ, TRL_EXPERIMENTAL_SILENCE="1")
        try:
            subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if catalog_mod.cached_catalog(self.preset.trainer_type, self.preset.task) is None:
            catalog_mod.warm_all()  # no cache could be written: build it here, in this thread
        self.call_from_thread(self._catalog_ready)

    def _catalog_ready(self) -> None:
        self._catalogs.clear()
        self._announce()
        self.schedule_validation(0)

    # -- hardware --------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="gpu", name="gpu")
    def _detect_gpus(self) -> None:
        self.call_from_thread(self._gpus_ready, gpu.detect())

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
        if self.catalog() is None:
            return  # validation reads the catalog; it runs again once the catalog is ready
        self._validate_worker(self.preset)

    @work(thread=True, exclusive=True, exit_on_error=False, group="validate", name="validate")
    def _validate_worker(self, preset: Preset) -> None:
        problems = run_validation(preset)
        self.call_from_thread(self._validated, preset, problems)

    def _validated(self, preset: Preset, problems: list[Problem]) -> None:
        if preset is not self.preset:
            return
        self.problems = problems
        self.validated = True
        self._announce()

    def has_errors(self) -> bool:
        return bool(self.field_errors) or any(p.is_error for p in self.problems)

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

    @work(thread=True, exclusive=True, exit_on_error=False, group="review", name="review")
    def _review_worker(self, preset: Preset, gpus: list) -> None:
        memory = memory_text(preset)
        launch = launch_text(preset, gpus)
        self.call_from_thread(self._review_ready, preset, memory, launch)

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
            self.notify("Fix the errors listed in the review first.", title="Not started", severity="error")
            if self.wizard is not None:
                self.wizard.goto("review")
            return
        if self.preset.get("model.trust_remote_code") is True and not self.trust_confirmed:

            def answer(yes: bool | None) -> None:
                if yes:
                    self.trust_confirmed = True
                    self._run()

            self.push_screen(ConfirmScreen(TRUST_QUESTION, yes="Trust and run", no="Cancel"), answer)
            return
        if self.dirty or self.preset.path is None or self.shipped:
            self._save(then=self._start)
            return
        self._start()

    def _start(self) -> None:
        self.notify("starting the run…", timeout=2)
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
                self.notify("; ".join(p.message for p in error.problems)[:300], title="Not started", severity="error")
            elif worker.name == "run":
                self.notify(f"{type(error).__name__}: {error}", title="The run did not start", severity="error", timeout=10)
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
            self.exit()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(t("unsaved"), yes="Quit without saving", no="Stay"), answer)
