"""`hftui validate PRESET...`: every problem of every file, then one verdict line per file.

Problems go to stderr (grouped by file, errors first, each with its key, line and fix); the
verdicts go to stdout so scripts can read them. Exit 0 when every file is valid (warnings
allowed), 2 when any is not.

`--for 4xA100-80GB` checks for that machine instead of this one and adds the memory estimate
there (backend, per-GPU memory, offload, fits, and why); `--json` prints one object per preset
on stdout instead (`valid`, `problems`, `estimate`), for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys

from hftui.core.i18n import N_, _
from hftui.core.run.folder import EXIT_INVALID, EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("presets", nargs="+", metavar="PRESET", help=_("preset files to check"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help=_("override a value before checking, by dotted path (e.g. args.learning_rate=1e-4); repeatable"))
    parser.add_argument("--quiet", "-q", action="store_true", help=_("show only errors and the verdicts"))
    parser.add_argument("--for", dest="machine", metavar="MACHINE",
                        help=_("check for a named machine, COUNTxGPU, e.g. 4xA100-80GB, 1xH200, 8xRTX4090 "
                               "(the estimate, the auto backend and GPU checks use it instead of this machine)"))
    parser.add_argument("--json", action="store_true",
                        help=_("print one JSON object per preset on stdout: valid, problems, estimate"))


# How many problems of each severity, singular and plural.
_COUNTS = {
    "error": (N_("{n} error"), N_("{n} errors")),
    "warning": (N_("{n} warning"), N_("{n} warnings")),
    "notice": (N_("{n} notice"), N_("{n} notices")),
}


def _plural(n: int, severity: str) -> str:
    one, many = _COUNTS[severity]
    return _(one if n == 1 else many, n=n)


def verdict(problems) -> tuple[bool, str]:
    """(valid, words) for one file's problems: "valid (2 warnings)" or "invalid: 3 errors, 1 warning"."""
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = sum(1 for p in problems if p.severity == "warning")
    notices = sum(1 for p in problems if p.severity == "notice")
    if errors:
        parts = [_plural(errors, "error")] + ([_plural(warnings, "warning")] if warnings else [])
        return False, _("invalid: {counts}", counts=", ".join(parts))
    extra = [_plural(n, w) for n, w in ((warnings, "warning"), (notices, "notice")) if n]
    return True, _("valid ({counts})", counts=", ".join(extra)) if extra else _("valid")


def _note_first_run() -> None:
    """Say why the very first check takes seconds: the option catalog is read once per version."""
    if not sys.stderr.isatty():
        return
    from hftui.core.options import catalog

    if not any(catalog._cache_path(key, catalog.installed_versions()).exists() for key in ("sft", "trainer")):
        print(_("hftui: reading the options of the installed transformers and trl (once per version)..."), file=sys.stderr, flush=True)


def _machine(spec: str | None):
    """(gpus, None) for --for, or (None, message) when the machine cannot be read."""
    if spec is None:
        return None, None
    from hftui.core.gpus import UnknownMachine, machine_gpus

    try:
        return machine_gpus(spec), None
    except UnknownMachine as exc:
        return None, f"hftui validate: --for {exc}"


def _estimate(preset, gpus) -> dict | None:
    """The estimate for the named machine, or this one's GPUs; None when the preset has no model to read."""
    from hftui.core.checks.machine import fit_for, visible_gpus

    try:
        return fit_for(preset, gpus if gpus is not None else visible_gpus())
    except Exception as exc:  # an estimate is advice: say why there is none, never a traceback
        return {"per_gpu_gib": None, "backend": None, "offload": None, "fits": None,
                "reasons": [_("no estimate: {kind}: {error}", kind=type(exc).__name__, error=exc)]}


def _print_estimate(spec: str | None, est: dict) -> None:
    from hftui.tui.format import printable
    from hftui.core.train.memory_estimate import GiB, human

    where = spec or _("this machine")
    gib = est.get("per_gpu_gib")
    size = _("about {size} per GPU", size=human(gib * GiB)) if gib is not None else _("no estimate")
    fits = {True: _("fits"), False: _("does NOT fit"), None: _("nothing to compare with")}[est.get("fits")]
    offload = ", " + _("CPU offload: {offload}", offload=est["offload"]) if est.get("offload") not in (None, "none") else ""
    print(printable("  " + _("on {where}: {size}, {backend}{offload}; {fits}", where=where, size=size, backend=est.get("backend"),
                             offload=offload, fits=fits)))
    for reason in est.get("reasons", []):
        print(printable(f"    {reason}"))


def _problem_json(p) -> dict:
    return {"path": p.path, "severity": p.severity, "message": p.message, "hint": p.hint, "line": p.line, "file": p.file}


def main(args: argparse.Namespace) -> int:
    from hftui.core.checks import validate_file
    from hftui.tui.errors import print_problems
    from hftui.tui.format import printable

    gpus, bad = _machine(args.machine)
    if bad:
        print(printable(bad), file=sys.stderr)
        return EXIT_INVALID
    if not args.json:
        _note_first_run()
    all_valid = True
    for name in args.presets:
        preset, problems = validate_file(name, args.overrides, gpus=gpus)
        valid, words = verdict(problems)
        all_valid = all_valid and valid
        if args.json:
            est = _estimate(preset, gpus) if preset is not None else None
            obj = {"file": name, "valid": valid, "problems": [_problem_json(p) for p in problems], "estimate": est}
            print(json.dumps(obj), flush=True)
            continue
        shown = [p for p in problems if p.severity == "error"] if args.quiet else problems
        print_problems(shown, file=name)
        print(f"{printable(name)}: {words}", file=sys.stdout, flush=True)
        if args.machine and preset is not None:
            _print_estimate(args.machine, _estimate(preset, gpus))
    return EXIT_OK if all_valid else EXIT_INVALID
