"""The `hftui` command: the wizard by default, headless subcommands otherwise.

Start-up must stay fast: this module imports only the standard library and the exit codes at
the top; each subcommand's module is imported when that subcommand runs.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
import time

from hftui.core.i18n import N_, _
from hftui.core.run.folder import EXIT_INVALID, EXIT_OK, EXIT_STOPPED

_T0 = time.perf_counter()

COMMANDS = {
    "run": N_("Validate a preset, then train headless with a live progress display."),
    "validate": N_("Check presets: every problem of every file, with key path and line."),
    "export": N_("Print the equivalent Python script, launch command or config file."),
    "runs": N_("List the runs on this machine."),
    "attach": N_("Open the live pane of a running or finished run."),
    "stop": N_("Stop a run gracefully: checkpoint, then exit."),
    "doctor": N_("What this machine can do: GPUs, precision, CUDA/NCCL, DeepSpeed, versions."),
    "presets": N_("List the presets shipped with hftui (open one by name: hftui quickstart)."),
    "compare": N_("Compare runs: preset keys that differ, metrics, speed, environment."),
    "data": N_("A data report: rows, token lengths, truncation, padding, a sample as trained."),
    "try": N_("Try a trained model: answer one prompt with a run's final model or a checkpoint."),
    "eval": N_("Evaluate a run's model on a split with the preset's metrics."),
    "predict": N_("Write a run's model's predictions for an input file as JSONL."),
    "probe": N_("Measure which batch sizes fit: a few real steps each, peak memory and speed."),
    "serve": N_("Serve the wizard to a browser on 127.0.0.1 (textual-serve)."),
}


# Words people type for a command (`hftui train x.toml`, `hftui trian x.toml`): never run, only
# offered as the command they mean.
SYNONYMS = {"train": "run", "fit": "run", "start": "run", "check": "validate", "list": "runs", "status": "runs"}


# argparse's own words (usage, the section titles, its errors), which it looks up through its
# module-level `_`; listed here so the catalog holds them. Messages of other Python versions stay English.
ARGPARSE_MESSAGES = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"), N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"), N_("unrecognized arguments: %s"), N_("expected one argument"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("invalid %(type)s value: %(value)r"),
)


def _wizard_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hftui",
        description=_("A terminal wizard to set up, run, watch and replay Hugging Face training."),
        epilog=_("commands:") + "\n" + "\n".join(f"  {k:<9} {_(v)}" for k, v in COMMANDS.items())
        + "\n\n" + _("Run 'hftui COMMAND --help' for a command's options."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("preset", nargs="?", help=_("a preset to open (default: the quickstart preset)"))
    p.add_argument("--new", action="store_true", help=_("start a new preset at PRESET even when a file of a close name exists"))
    p.add_argument("--lang", choices=("en", "ko"), help=_("help-text language (default: from HFTUI_LANG or LANG)"))
    p.add_argument("--version", action="store_true", help=_("print the version and exit"))
    return p


def _unknown_command(argv: list[str]) -> str | None:
    """A first word that reads as a mistyped command rather than a preset: it is not a file,
    does not look like a path, and more words follow it or it is close to a command's name."""
    if not argv or argv[0].startswith("-") or any(c in argv[0] for c in "/.\\~") or os.path.exists(argv[0]):
        return None
    from hftui.core.shipped import shipped_by_name

    if shipped_by_name(argv[0]):  # `hftui quickstart`: a shipped preset by name
        return None
    # the closest, not a list to choose from; words people type for a command count as that command
    close = [SYNONYMS.get(word, word) for word in difflib.get_close_matches(argv[0], [*COMMANDS, *SYNONYMS], n=1, cutoff=0.5)]
    if not close and not any(not a.startswith("-") for a in argv[1:]):
        return None
    if close:
        return _("unknown command {word!r}; did you mean {close}? (commands: {commands}; a preset is a .toml file)",
                 word=argv[0], close=close[0], commands=", ".join(COMMANDS))
    return _("unknown command {word!r}; (commands: {commands}; a preset is a .toml file)", word=argv[0], commands=", ".join(COMMANDS))


def _language_first(argv: list[str]) -> None:
    """`--lang ko` before the parser reads the rest, so `hftui --lang ko --help` is in Korean."""
    for i, word in enumerate(argv):
        value = argv[i + 1] if word == "--lang" and i + 1 < len(argv) else word.removeprefix("--lang=") if word.startswith("--lang=") else None
        if value in ("en", "ko"):
            os.environ["HFTUI_LANG"] = value


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argparse._ = _  # argparse's own words in the reader's language too
    try:
        if argv and argv[0] in COMMANDS:
            module = importlib.import_module(f"hftui.tui.commands.{argv[0]}")
            parser = argparse.ArgumentParser(prog=f"hftui {argv[0]}", description=_(COMMANDS[argv[0]]))
            module.add_arguments(parser)
            args = parser.parse_args(argv[1:])
            return int(module.main(args) or 0)
        unknown = _unknown_command(argv)
        if unknown:
            print(f"hftui: {unknown}", file=sys.stderr)
            return EXIT_INVALID
        _language_first(argv)
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
        print(_("interrupted"), file=sys.stderr)
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
