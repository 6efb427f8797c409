"""The hftui wizard app: one immutable Preset, replaced on every edit and announced to the screen.

Nothing heavy runs before the first frame: the option catalog is read from its cache (or built
by a child process), GPUs are detected in a thread, validation runs in a thread after each
edit. torch, transformers and datasets are never imported to draw the wizard.
"""

from __future__ import annotations

import copy
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.worker import Worker, WorkerState

from hftui.core.options import catalog as catalog_mod
from hftui.core import preset as preset_mod
from hftui.core.preset import Preset
from hftui.core.problems import PresetError, Problem
from hftui.core.options.sections import field_for
from hftui.tui import startup
from hftui.tui.i18n import t

SECTION_STEPS = {"model": "model", "dataset": "dataset", "trainer": "trainer", "ppo": "trainer", "peft": "peft", "launch": "distribution"}


def shipped_presets_dir() -> Path:
    import hftui.presets

    return Path(hftui.presets.__file__).resolve().parent


def is_shipped(path: Path | None) -> bool:
    if path is None:
        return False
    try:
        Path(path).resolve().relative_to(shipped_presets_dir())
        return True
    except ValueError:
        return False


def rebase_paths(preset: Preset, new_base: Path) -> Preset:
    """Keep relative data and model paths pointing at the same files when saving elsewhere."""
    old_base = preset.base_dir
    if old_base.resolve() == new_base.resolve():
        return preset

    def move(value: Any) -> Any:
        if isinstance(value, str) and value and not os.path.isabs(os.path.expanduser(value)):
            target = (old_base / value)
            if target.exists():
                return os.path.relpath(target.resolve(), new_base.resolve())
        if isinstance(value, list):
            return [move(v) for v in value]
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        return value

    for key in ("dataset.data_files", "model.name_or_path", "model.scratch.tokenizer", "ppo.reward_model", "ppo.value_model"):
        if preset.has(key):
            moved = move(preset.get(key))
            if moved != preset.get(key):
                preset = preset.with_value(key, moved)
    if preset.get("dataset.path") and preset.get("dataset.path") not in ("json", "csv", "parquet", "text", "arrow"):
        moved = move(preset.get("dataset.path"))
        if moved != preset.get("dataset.path"):
            preset = preset.with_value("dataset.path", moved)
    return preset


class HftuiApp(App):
    """The wizard. `gpus` injects the hardware (tests, snapshots); None detects it in a thread."""

    CSS_PATH = "app.tcss"
    TITLE = "hftui"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Quit (asks first when there are unsaved changes)", priority=True),
        Binding("ctrl+o,f10", "runs", "Runs", id="app.runs", tooltip="The runs on this machine: attach, stop, resume"),
    ]

    @dataclass
    class PresetChanged(Message):
        """The app's preset was replaced; screens redraw from `preset`."""

        preset: Preset

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
        from hftui.tui.screens.wizard import WizardScreen

        self.push_screen(WizardScreen())
        if self._detect:
            self._detect_gpus()
        else:
            self._apply_hardware_defaults()
        if self.catalog() is None and self.warm_catalog:
            self._build_catalog()
        else:
            self.schedule_validation(0)

    def on_ready(self) -> None:
        self.startup_line = startup.log_startup(self.started)
        self.log(self.startup_line)

    @property
    def wizard(self):
        from hftui.tui.screens.wizard import WizardScreen

        for screen in self.screen_stack:
            if isinstance(screen, WizardScreen):
                return screen
        return None

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
        from hftui.core import gpu

        found = gpu.detect()
        self.call_from_thread(self._gpus_ready, found)

    def _gpus_ready(self, gpus: list) -> None:
        self.gpus = gpus
        self._apply_hardware_defaults()
        self._announce()

    def _apply_hardware_defaults(self) -> None:
        """A new preset starts with the precision this machine supports."""
        if not self.fresh or self.gpus is None:
            return
        precision = self.recommended_precision()
        if precision == "bf16" and not self.preset.has("args.bf16") and not self.preset.has("args.fp16"):
            self.preset = self.preset.with_value("args.bf16", True)
        elif precision == "fp16" and not self.preset.has("args.bf16") and not self.preset.has("args.fp16"):
            self.preset = self.preset.with_value("args.fp16", True)
        self.initial_data = copy.deepcopy(self.preset.data)

    def recommended_precision(self) -> str:
        if not self.gpus:
            return "fp32"
        return "bf16" if all(g.supports_bf16 for g in self.gpus) else "fp16"

    def hardware_note(self, kind: str) -> str:
        gpus = self.gpus
        if gpus is None:
            return "Detecting GPUs…"
        if kind == "precision":
            if not gpus:
                return "This machine: no GPU. Training runs on the CPU in fp32 (bf16 and fp16 stay off)."
            g = gpus[0]
            cc = ".".join(str(x) for x in g.compute_capability) if g.compute_capability else "unknown"
            if self.recommended_precision() == "bf16":
                return f"This machine: {len(gpus)}× {g.name} (compute capability {cc} ≥ 8.0): bf16 recommended."
            return f"This machine: {len(gpus)}× {g.name} (compute capability {cc} < 8.0, no bf16): fp16 recommended."
        n = len(gpus)
        if n == 0:
            return "This machine: no GPU. backend = auto starts one process on the CPU."
        if n == 1:
            return "This machine: 1 GPU. backend = auto starts a single process (nothing to distribute)."
        if n < 8:
            return f"This machine: {n} GPUs. backend = auto uses DDP over {n} processes; choose fsdp or deepspeed when the model does not fit one GPU."
        return f"This machine: {n} GPUs. backend = auto uses DDP; for large models choose fsdp, or deepspeed with zero_stage = 3."

    # -- editing ---------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.saved_data != self.preset.data

    def edit(self, path: str, value: Any, error: str | None = None) -> None:
        """A field changed: record an invalid text, or replace the preset."""
        if error is not None:
            self.field_errors[path] = error
            self._announce_states()
            return
        self.field_errors.pop(path, None)
        from hftui.tui.widgets.option_field import MISSING

        new = self.preset.without(path) if value is MISSING else self.preset.with_value(path, value)
        if new.data == self.preset.data:
            self._announce_states()
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

    def _announce(self) -> None:
        screen = self.wizard
        if screen is not None:
            screen.post_message(self.PresetChanged(self.preset))

    def _announce_states(self) -> None:
        screen = self.wizard
        if screen is not None:
            screen.refresh_states()
            screen.refresh_title()
            if screen.step == "review":
                screen.refresh_review()

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
        self._announce_states()

    def step_of(self, path: str) -> str:
        if not path or path == "schema":
            return "review"
        if path in ("name", "description") or path.startswith("model."):
            return "model"
        if path == "trainer.metrics":
            return "evaluation"
        if path.startswith("args."):
            name = path.split(".")[1]
            cat = self.catalog()
            if cat is not None and name in cat.args:
                return cat.args[name].step
            return catalog_mod._guess_step(name)
        f = field_for(path)
        if f is not None and f.step:
            return f.step
        return SECTION_STEPS.get(path.split(".")[0], "review")

    def all_problems(self) -> list[tuple[Problem, str]]:
        """Invalid typed values first, then core validation, errors before warnings."""
        typed = [Problem(path, "error", message, "fix the value in the field") for path, message in self.field_errors.items()]
        order = {"error": 0, "warning": 1, "notice": 2}
        rest = sorted(self.problems, key=lambda p: order.get(p.severity, 3))
        return [(p, self.step_of(p.path)) for p in typed + rest]

    def has_errors(self) -> bool:
        return bool(self.field_errors) or any(p.is_error for p in self.problems)

    def step_state(self, step: str, visited: bool) -> str:
        severities = {p.severity for p, s in self.all_problems() if s == step}
        if "error" in severities:
            return "error"
        if "warning" in severities:
            return "warning"
        if step == "review":
            return "ok" if visited and self.validated else "untouched"
        touched = visited or any(self.step_of(path) == step for path in _leaf_paths(self.preset.data))
        return "ok" if touched else "untouched"

    # -- review extras (memory estimate, launch command) -----------------------------------
    def refresh_review_extras(self) -> None:
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
    def action_save(self, then=None) -> None:
        """Save in place, or ask for a file when the preset is new or shipped with hftui."""
        if self.preset.path is None or self.shipped:
            from hftui.tui.screens.save_as import SaveAsScreen

            base = Path.cwd()
            suggestion = base / f"{self.preset.name}.toml"
            reason = "This preset ships with hftui: save your copy as" if self.shipped else "Save the new preset as:"
            self.push_screen(SaveAsScreen(suggestion, reason), lambda path: self._save_as_chosen(path, then))
            return
        if self.write(self.preset.path) and then:
            then()

    def _save_as_chosen(self, path: Path | None, then) -> None:
        if path is None:
            return
        if is_shipped(path):
            self.notify("That file ships with hftui; choose another name.", severity="error")
            return
        if path.exists() and (self.preset.path is None or path.resolve() != self.preset.path):
            from hftui.tui.screens.confirm import ConfirmScreen

            def answer(yes: bool | None) -> None:
                if yes and self.write(path) and then:
                    then()

            self.push_screen(ConfirmScreen(f"{path} exists. Replace it?", yes="Replace", no="Cancel"), answer)
            return
        if self.write(path) and then:
            then()

    def write(self, path: Path) -> bool:
        preset = rebase_paths(self.preset, Path(path).parent) if self.preset.path is None or Path(path).resolve() != self.preset.path else self.preset
        try:
            saved = preset_mod.save(preset, path)
        except PresetError as exc:
            self.notify("; ".join(p.message for p in exc.problems), title="Not saved", severity="error")
            return False
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror or exc}", title="Not saved", severity="error")
            return False
        self.preset = saved
        self.saved_data = copy.deepcopy(saved.data)
        self.shipped = is_shipped(saved.path)
        self.notify(f"saved {saved.path}", timeout=3)
        self._announce()
        return True

    # -- run -------------------------------------------------------------------------------
    def action_run(self) -> None:
        screen = self.wizard
        if self.field_errors or any(p.is_error for p in self.problems):
            self.notify("Fix the errors listed in the review first.", title="Not started", severity="error")
            if screen is not None:
                screen.goto("review")
            return
        if self.preset.get("model.trust_remote_code") is True and not self.trust_confirmed:
            from hftui.tui.screens.confirm import ConfirmScreen

            question = (
                "This preset sets model.trust_remote_code = true: Python code downloaded with the model "
                "will run on this machine. Only continue if you trust its authors. Run it?"
            )

            def answer(yes: bool | None) -> None:
                if yes:
                    self.trust_confirmed = True
                    self.action_run()

            self.push_screen(ConfirmScreen(question, yes="Trust and run", no="Cancel"), answer)
            return
        if self.dirty or self.preset.path is None or self.shipped:
            self.action_save(then=self._start)
            return
        self._start()

    def _start(self) -> None:
        self.notify("starting the run…", timeout=2)
        self._run_worker(self.preset, self.trust_confirmed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run", name="run")
    def _run_worker(self, preset: Preset, trust: bool):
        problems = [p for p in run_validation(preset) if p.is_error]
        if problems:
            raise PresetError(problems, preset.path)
        from hftui.core.run.start import start_run

        return start_run(preset, trust_remote_code=trust)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR:
            error = worker.error
            if isinstance(error, PresetError):
                self.problems = list(error.problems)
                self._announce_states()
                self.notify("; ".join(p.message for p in error.problems)[:300], title="Not started", severity="error")
            elif worker.name == "run":
                self.notify(f"{type(error).__name__}: {error}", title="The run did not start", severity="error", timeout=10)
            else:
                self.log(f"worker {worker.name} failed: {error!r}")
        elif event.state == WorkerState.SUCCESS and worker.name == "run":
            self._run_started(worker.result)

    def _run_started(self, run) -> None:
        self.last_run = run
        run_id = getattr(run, "id", None) or getattr(run, "run_id", "")
        run_dir = getattr(run, "run_dir", None)
        try:
            from hftui.tui.screens.monitor import MonitorScreen
        except ImportError:
            self.notify(f"run {run_id} started in the background; follow it with: hftui attach {run_id}", title="Started", timeout=15)
            return
        self.push_screen(MonitorScreen(Path(run_dir)))

    # -- quit ------------------------------------------------------------------------------
    def needs_saving(self) -> bool:
        """Edits that would be lost; a new preset nobody typed into is not worth a question."""
        if self.saved_data is None:
            return self.preset.data != self.initial_data
        return self.dirty

    def action_runs(self) -> None:
        from hftui.tui.screens.runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    async def action_quit(self) -> None:
        if not self.needs_saving():
            self.exit()
            return
        from hftui.tui.screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(t("unsaved"), yes="Quit without saving", no="Stay"), answer)


def _leaf_paths(data: dict, prefix: str = ""):
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and key != "data_files":
            yield from _leaf_paths(value, path + ".")
        else:
            yield path


def run_validation(preset: Preset) -> list[Problem]:
    """core.validate's problems for the preset; [] while that module is not available."""
    try:
        from hftui.core.checks import validate
    except ImportError:
        return []
    try:
        return list(validate(preset))
    except PresetError as exc:
        return list(exc.problems)


def memory_text(preset: Preset) -> str:
    try:
        from hftui.core.train.memory_estimate import estimate
    except ImportError:
        return "(the memory estimate is not available in this version)"
    try:
        return estimate(preset).text
    except PresetError as exc:
        return "; ".join(p.message for p in exc.problems)
    except Exception as exc:  # an estimate is advice: never let it break the review
        return f"(no estimate: {type(exc).__name__}: {exc})"


def launch_text(preset: Preset, gpus: list) -> str:
    try:
        from hftui.core import launch as launch_mod

        with tempfile.TemporaryDirectory(prefix="hftui-review-") as tmp:
            run_dir = Path(tmp)
            result = launch_mod.resolve_launch(preset, run_dir, gpus=gpus)
            render = getattr(launch_mod, "render_command", None) or getattr(launch_mod, "shell_command", None)
            if render is not None:
                try:
                    command = render(result)
                except TypeError:
                    command = shlex.join(result.argv)
            else:
                command = shlex.join(result.argv)
            command = command.replace(str(run_dir), "<run dir>")
        return f"{command}\n({result.backend}, {result.num_processes} process(es) × {result.num_machines} machine(s): {result.reason})"
    except PresetError as exc:
        return "; ".join(p.message for p in exc.problems)
    except Exception as exc:
        return f"(no launch command: {type(exc).__name__}: {exc})"
