"""`hftui export PRESET --to python|command|accelerate|deepspeed|slurm`: the artefact on stdout.

Problems go to stderr (exit 2 when the preset is invalid), so `> file` captures only the artefact.
"""

from __future__ import annotations

import sys

TARGETS = ("python", "command", "accelerate", "deepspeed", "slurm")


def add_arguments(parser) -> None:
    parser.add_argument("preset", help="the preset file (.toml)")
    parser.add_argument("--to", dest="target", choices=TARGETS, default="python",
                        help="python: a standalone training script; command: its launch command line; "
                             "accelerate: a config for `accelerate launch --config_file`; deepspeed: the DeepSpeed JSON; "
                             "slurm: an sbatch script for several nodes (default: python)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a preset value first, e.g. --set launch.num_machines=4 (repeatable)")


def main(args) -> int:
    from hftui.core.problems import PresetError
    from hftui.core.checks import validate_file
    from hftui.tui.errors import print_problems

    preset, problems = validate_file(args.preset, args.overrides)
    errors = [p for p in problems if p.is_error]
    if preset is None or errors:
        print_problems(errors or problems, args.preset)
        return 2
    from hftui.core.export import targets as exporters

    try:
        text = exporters.export(preset, args.target, source=args.preset)
    except PresetError as exc:
        print_problems(exc.problems, exc.file or args.preset)
        return 2
    warnings = [p for p in problems if p.severity == "warning"]
    if warnings:
        print_problems(warnings, args.preset)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0
