"""`hftui export PRESET --to python|command|accelerate|deepspeed|slurm`: the artefact on stdout.

Problems go to stderr (exit 2 when the preset is invalid), so `> file` captures only the artefact.
The artefacts are for GPUs (this machine's, the one `--for` names, or on a machine without GPUs
a cluster node's); `--cpu` makes the variant that runs on this machine's CPU.
"""

from __future__ import annotations

import sys

from hftui.core.i18n import _

TARGETS = ("python", "command", "accelerate", "deepspeed", "slurm")


def add_arguments(parser) -> None:
    parser.add_argument("preset", help=_("the preset file (.toml)"))
    parser.add_argument("--to", dest="target", choices=TARGETS, default="python",
                        help=_("python: a standalone training script; command: its launch command line; "
                               "accelerate: a config for `accelerate launch --config_file`; deepspeed: the DeepSpeed JSON; "
                               "slurm: an sbatch script for several nodes (default: python)"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help=_("override a preset value first, e.g. --set launch.num_machines=4 (repeatable)"))
    parser.add_argument("--for", dest="machine", metavar="MACHINE",
                        help=_("make it for a named machine, COUNTxGPU, e.g. 4xA100-80GB (default: this machine's GPUs, "
                               "or on a machine without GPUs a cluster node's)"))
    parser.add_argument("--cpu", action="store_true",
                        help=_("the CPU variant, for a smoke test on this machine (DS_ACCELERATOR=cpu, use_cpu, gloo)"))


def main(args) -> int:
    from hftui.core.problems import PresetError
    from hftui.core.checks import validate_file
    from hftui.tui.errors import print_problems

    gpus = None
    if args.cpu and args.machine:
        print(_("hftui export: --cpu and --for name two different machines; give one of them"), file=sys.stderr)
        return 2
    if args.machine:
        from hftui.core.gpus import UnknownMachine, machine_gpus

        try:
            gpus = machine_gpus(args.machine)
        except UnknownMachine as exc:
            print(f"hftui export: --for {exc}", file=sys.stderr)
            return 2
    preset, problems = validate_file(args.preset, args.overrides, gpus=gpus)
    errors = [p for p in problems if p.is_error]
    if preset is None or errors:
        print_problems(errors or problems, args.preset)
        return 2
    from hftui.core.export import targets as exporters

    try:
        text = exporters.export(preset, args.target, source=args.preset, gpus=gpus, cpu=args.cpu)
    except PresetError as exc:
        print_problems(exc.problems, exc.file or args.preset)
        return 2
    warnings = [p for p in problems if p.severity == "warning"]
    if warnings:
        print_problems(warnings, args.preset)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0
