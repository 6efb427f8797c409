"""`hftui data PRESET`: the data report, before training.

The preset is checked as `hftui validate` checks it (every problem at once, exit 2 on an error);
then the train split is tokenized with the preset's tokenizer through the trainer type's own
preparation (a sample of `--sample` rows on large data) and the report printed, or its JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

from hftui.core.data_report import DEFAULT_SAMPLE
from hftui.core.i18n import _
from hftui.core.run.folder import EXIT_INVALID, EXIT_OK


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a whole number", text=text)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("the sample needs at least 1 row"))
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("preset", metavar="PRESET", help=_("the preset file (.toml), or a shipped preset's name"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help=_("override a value first, by dotted path (e.g. dataset.max_length=1024); repeatable"))
    parser.add_argument("--sample", type=_positive, default=DEFAULT_SAMPLE, metavar="N",
                        help=_("tokenize at most the first N train rows (default {sample}); the report says when it is a sample", sample=DEFAULT_SAMPLE))
    parser.add_argument("--json", action="store_true", help=_("print the report as JSON, for scripts"))
    parser.add_argument("--trust-remote-code", action="store_true",
                        help=_("allow a preset with model.trust_remote_code = true to load the tokenizer's own Python code"))


def main(args: argparse.Namespace) -> int:
    from hftui.core.checks import validate_file
    from hftui.core.data_report import build_report
    from hftui.core.data_report_text import render
    from hftui.core.problems import PresetError
    from hftui.tui.errors import print_problems

    preset, problems = validate_file(args.preset, args.overrides)
    if preset is None or any(p.is_error for p in problems):
        print_problems(problems, args.preset)
        return EXIT_INVALID
    if problems:  # warnings and notices: shown, the report still runs
        print_problems(problems, args.preset)
    try:
        report = build_report(preset, args.sample, trust_remote_code_allowed=args.trust_remote_code)
    except PresetError as exc:
        print_problems(exc.problems, exc.file or args.preset)
        return EXIT_INVALID
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render(report) + "\n")
    sys.stdout.flush()
    return EXIT_OK
