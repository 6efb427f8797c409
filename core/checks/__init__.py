"""Every check of a preset, all at once: what the trainer, the launcher or the data loader would
otherwise reject minutes into a run (or silently get wrong).

Each problem names the dotted key, the line in the file, what is wrong and what to write
instead. Validation reads the option catalog from its cache and the first record of local data
files; it never imports torch, transformers or datasets once the catalog cache exists, so the
wizard can run it on every edit and `hftui validate` answers in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterable

from hftui.core.preset import Preset
from hftui.core.problems import PresetError, Problem

from hftui.core.checks import memory
from hftui.core.checks.args import check_args, check_training_rules
from hftui.core.checks.data import check_dataset
from hftui.core.checks.launch import check_launch, check_output_dir
from hftui.core.checks.layout import check_layout
from hftui.core.checks.model import check_model, check_scratch
from hftui.core.checks.report import Report
from hftui.core.checks.secrets import check_secrets
from hftui.core.checks.trainer import check_ppo, check_trainer


def validate(preset: Preset, file: str | None = None, for_run: bool = False) -> list[Problem]:
    """Every problem of a loaded preset (migration notices included), errors and warnings alike.

    `file` is the name to show for the preset (as the person typed it); by default its path.
    `for_run`: the preset is about to train, so what must exist by then (a reward model still to
    be trained, say) is an error rather than a warning.
    """
    file = file or (str(preset.path) if preset.path else None)
    rep = Report(preset, file, for_run)
    if not preset.data and preset.source_text is not None and not preset.source_text.strip():
        rep.error("", "the preset file is empty", "start from a shipped preset, e.g. copy presets/quickstart.toml, or run `hftui` to write one")
        return rep.items
    rep.items.extend(replace(p, file=file) for p in preset.notices)
    check_layout(rep)
    check_scratch(rep, preset)
    catalog = check_args(rep, preset)
    check_model(rep, preset)
    check_dataset(rep, preset)
    check_trainer(rep, preset)
    check_training_rules(rep, preset, catalog)
    check_ppo(rep, preset)
    check_launch(rep, preset)
    check_output_dir(rep, preset)
    check_secrets(rep, preset)
    if not for_run:
        # Before a run the estimate is the worker's: it has torch loaded and the model built
        # anyway, where here it would cost the import of torch and transformers (seconds).
        _check_memory(rep, preset)
    return rep.problems()


def validate_file(path: str | Path, overrides: Iterable[str] = (), for_run: bool = False) -> tuple[Preset | None, list[Problem]]:
    """Load a preset, apply `--set` overrides, migrate and validate it.

    Returns the preset (None when the file cannot be read or parsed) and every problem found.
    """
    from hftui.core.preset import apply_overrides, load

    file = str(path)
    try:
        preset = load(path)
    except PresetError as exc:
        return None, [replace(p, file=p.file if p.file and p.file != str(Path(path).resolve()) else file) for p in exc.problems]
    problems: list[Problem] = []
    overrides = list(overrides)
    if overrides:
        try:
            preset = apply_overrides(preset, overrides)
        except PresetError as exc:
            problems.extend(replace(p, file=file) for p in exc.problems)
            # keep the valid overrides: apply them one by one, skipping the bad ones
            for item in overrides:
                try:
                    preset = apply_overrides(preset, [item])
                except PresetError:
                    pass
    problems.extend(validate(preset, file=file, for_run=for_run))
    return preset, problems


def _check_memory(rep: Report, preset: Preset) -> None:
    """The memory estimate's warning, when the run will not fit the GPUs here."""
    try:
        found = memory.check(preset)
    except Exception:
        return  # an estimate that cannot be made is not the person's mistake
    for p in found or ():
        rep.adopt(p)
