"""`hftui validate PRESET...`: every problem of every file, then one verdict line per file.

Problems go to stderr (grouped by file, errors first, each with its key, line and fix); the
verdicts go to stdout so scripts can read them. Exit 0 when every file is valid (warnings
allowed), 2 when any is not.
"""

from __future__ import annotations

import argparse
import sys

from hftui.core.run.folder import EXIT_INVALID, EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("presets", nargs="+", metavar="PRESET", help="preset files to check")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value before checking, by dotted path (e.g. args.learning_rate=1e-4); repeatable")
    parser.add_argument("--quiet", "-q", action="store_true", help="show only errors and the verdicts")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def verdict(problems) -> tuple[bool, str]:
    """(valid, words) for one file's problems: "valid (2 warnings)" or "invalid: 3 errors, 1 warning"."""
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = sum(1 for p in problems if p.severity == "warning")
    notices = sum(1 for p in problems if p.severity == "notice")
    if errors:
        parts = [_plural(errors, "error")] + ([_plural(warnings, "warning")] if warnings else [])
        return False, "invalid: " + ", ".join(parts)
    extra = [_plural(n, w) for n, w in ((warnings, "warning"), (notices, "notice")) if n]
    return True, "valid" + (f" ({', '.join(extra)})" if extra else "")


def _note_first_run() -> None:
    """Say why the very first check takes seconds: the option catalog is read once per version."""
    if not sys.stderr.isatty():
        return
    from hftui.core.options import catalog

    if not any(catalog._cache_path(key, catalog.installed_versions()).exists() for key in ("sft", "trainer")):
        print("hftui: reading the options of the installed transformers and trl (once per version)...", file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    from hftui.core.checks import validate_file
    from hftui.tui.errors import print_problems
    from hftui.tui.format import printable

    _note_first_run()
    all_valid = True
    for name in args.presets:
        _preset, problems = validate_file(name, args.overrides)
        shown = [p for p in problems if p.severity == "error"] if args.quiet else problems
        print_problems(shown, file=name)
        valid, words = verdict(problems)
        all_valid = all_valid and valid
        print(f"{printable(name)}: {words}", file=sys.stdout, flush=True)
    return EXIT_OK if all_valid else EXIT_INVALID
