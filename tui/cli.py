"""The `hftui` command: the wizard by default, headless subcommands otherwise.

Start-up must stay fast: this module imports only the standard library and the exit codes at
the top; each subcommand's module is imported when that subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from hftui.core.run.folder import EXIT_INVALID, EXIT_OK, EXIT_STOPPED

_T0 = time.perf_counter()

COMMANDS = {
    "run": "Validate a preset, then train headless with a live progress display.",
    "validate": "Check presets: every problem of every file, with key path and line.",
    "export": "Print the equivalent Python script, launch command or config file.",
    "runs": "List the runs on this machine.",
    "attach": "Open the live pane of a running or finished run.",
    "stop": "Stop a run gracefully: checkpoint, then exit.",
    "doctor": "What this machine can do: GPUs, precision, CUDA/NCCL, DeepSpeed, versions.",
}


def _wizard_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hftui",
        description="A terminal wizard to set up, run, watch and replay Hugging Face training.",
        epilog="commands:\n" + "\n".join(f"  {k:<9} {v}" for k, v in COMMANDS.items())
        + "\n\nRun 'hftui COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("preset", nargs="?", help="a preset to open (default: the quickstart preset)")
    p.add_argument("--lang", choices=("en", "ko"), help="help-text language (default: from HFTUI_LANG or LANG)")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            name = f"hftui.tui.commands.{argv[0]}"
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                print(f"hftui: the {argv[0]} command is not part of this installation", file=sys.stderr)
                return EXIT_INVALID
            parser = argparse.ArgumentParser(prog=f"hftui {argv[0]}", description=COMMANDS[argv[0]])
            module.add_arguments(parser)
            args = parser.parse_args(argv[1:])
            return int(module.main(args) or 0)
        args = _wizard_parser().parse_args(argv)
        if args.version:
            from hftui import __version__

            print(f"hftui {__version__}")
            return EXIT_OK
        if args.lang:
            os.environ["HFTUI_LANG"] = args.lang
        from hftui.tui.commands.wizard import main as wizard_main

        return int(wizard_main(args, started=_T0) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_STOPPED
    except BrokenPipeError:
        # `hftui runs | head`: the reader left; that is not an error of ours or theirs.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_OK
    except SystemExit:
        raise
    except Exception as exc:  # our bug, not the user's: say so briefly and keep the details
        from hftui.tui.errors import report_internal_error

        return report_internal_error(exc)


if __name__ == "__main__":
    raise SystemExit(main())
