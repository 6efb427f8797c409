"""Every check of a preset, all at once: what the trainer, the launcher or the data loader would
otherwise reject minutes into a run (or silently get wrong).

Each problem names the dotted key, the line in the file, what is wrong and what to write
instead. Validation reads the option catalog from its cache and the rows of local data files (a
bounded sample of large ones, each file read once while it is unchanged); it never imports
torch, transformers or datasets once the catalog cache exists, so the wizard can run it on every
edit and `hftui validate` answers in about a second.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Iterable

from hftui.core.i18n import _
from hftui.core.options.names import hint_budget
from hftui.core.preset import Preset
from hftui.core.problems import PresetError, Problem

from hftui.core.checks import machine, memory
from hftui.core.checks.args import UNKNOWN_OPTION, check_args, check_training_rules
from hftui.core.checks.data import check_dataset
from hftui.core.checks.launch import check_launch, check_output_dir
from hftui.core.checks.layout import UNKNOWN_KEY, UNKNOWN_SECTION, UNKNOWN_TOP_KEY, check_layout
from hftui.core.checks.model import check_model, check_scratch
from hftui.core.checks.report import Report
from hftui.core.checks.secrets import check_secrets
from hftui.core.checks.speed import check_speed
from hftui.core.checks.trainer import check_ppo, check_trainer


def validate(preset: Preset, file: str | None = None, for_run: bool = False, gpus: list | None = None) -> list[Problem]:
    """Every problem of a loaded preset (migration notices included), errors and warnings alike.

    `file` is the name to show for the preset (as the person typed it); by default its path.
    `for_run`: the preset is about to train, so what must exist by then (a reward model still to
    be trained, say) is an error rather than a warning. `gpus`: check for that machine (a named
    one, `hftui validate --for`) instead of this one's GPUs.
    """
    if gpus is not None:
        with machine.checked_on(gpus):
            return validate(preset, file, for_run)
    file = file or (str(preset.path) if preset.path else None)
    rep = Report(preset, file, for_run)
    if not preset.data and preset.source_text is not None and not preset.source_text.strip():
        rep.error("", _("the preset file is empty"), _("start from a shipped preset, e.g. copy presets/quickstart.toml, or run `hftui` to write one"))
        return rep.items
    rep.items.extend(replace(p, file=file) for p in preset.notices)
    with hint_budget(MAX_UNKNOWN_KEYS):
        check_layout(rep)
        check_scratch(rep, preset)
        catalog = check_args(rep, preset)
    check_model(rep, preset)
    check_speed(rep, preset)
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
    return _fold_unknown_keys(rep.problems(), file)


# A handful of unknown keys are typos, each worth its own line and did-you-mean; thousands are
# a file that is not a preset, and one line says so better than thousands (and in seconds).
MAX_UNKNOWN_KEYS = 50
_UNKNOWN_MESSAGES = (UNKNOWN_SECTION, UNKNOWN_TOP_KEY, UNKNOWN_KEY, UNKNOWN_OPTION)


def _unknown_key_pattern() -> re.Pattern:
    """The messages of unknown keys, as the reader's language words them."""
    shapes = (".+".join(re.escape(part) for part in re.split(r"\{\w+\}", _(m))) for m in _UNKNOWN_MESSAGES)
    return re.compile("|".join(f"(?:{s})" for s in shapes), re.DOTALL)


def _fold_unknown_keys(problems: list[Problem], file: str | None) -> list[Problem]:
    pattern = _unknown_key_pattern()
    unknown = [p for p in problems if p.is_error and pattern.fullmatch(p.message)]
    if len(unknown) <= MAX_UNKNOWN_KEYS:
        return problems
    rest = unknown[MAX_UNKNOWN_KEYS:]
    dropped = {id(p) for p in rest}
    sections = Counter(p.path.rpartition(".")[0] for p in rest)
    where = ", ".join(_("{count:,} in top level", count=n) if not s else _("{count:,} in [{section}]", count=n, section=s)
                      for s, n in sections.most_common(3))
    lines = [p.line for p in rest if p.line]
    message = (_("and {count:,} more unknown keys ({where}, lines {first}-{last})", count=len(rest), where=where, first=min(lines), last=max(lines))
               if lines else _("and {count:,} more unknown keys ({where})", count=len(rest), where=where))
    summary = Problem("", "error", message,
                      _("the first {count} are listed above; remove the keys hftui does not know (run `hftui` to see every option)", count=MAX_UNKNOWN_KEYS),
                      rest[0].line, file)
    out = [p for p in problems if id(p) not in dropped]
    out.insert(out.index(unknown[MAX_UNKNOWN_KEYS - 1]) + 1, summary)
    return out


def validate_file(path: str | Path, overrides: Iterable[str] = (), for_run: bool = False,
                  gpus: list | None = None) -> tuple[Preset | None, list[Problem]]:
    """Load a preset, apply `--set` overrides, migrate and validate it (for `gpus`, when named).

    Returns the preset (None when the file cannot be read or parsed) and every problem found.
    """
    from hftui.core.preset import apply_overrides, load

    file = str(path)
    try:
        preset = load(path)
    except PresetError as exc:
        return None, [replace(p, file=p.file if p.file and p.file != os.path.realpath(path) else file) for p in exc.problems]
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
    problems.extend(validate(preset, file=file, for_run=for_run, gpus=gpus))
    return preset, problems


def _check_memory(rep: Report, preset: Preset) -> None:
    """The memory estimate's warning, when the run will not fit the GPUs here."""
    try:
        found = memory.check(preset)
    except Exception:
        return  # an estimate that cannot be made is not the person's mistake
    for p in found or ():
        rep.adopt(p)
