"""What `hftui try`, `eval` and `predict` share: the RUN and --checkpoint arguments, finding
the run, and one way of saying why its model cannot be used (exit 2, never a traceback)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings

from hftui.core.i18n import _
from hftui.core.run.folder import EXIT_INVALID


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help=_("a run id (as 'hftui runs' shows), a unique part of it, a run name, or a run folder"))
    parser.add_argument("--checkpoint", type=int, metavar="N", default=None,
                        help=_("use checkpoint-N instead of the final model (a LoRA adapter is applied on the fly)"))


def find(ref: str):
    """The run's record, or None after saying which runs there are."""
    from rich.console import Console

    from hftui.core.run.index import RunLookupError, find_run
    from hftui.tui.commands.stop import print_lookup_error

    try:
        return find_run(ref)
    except RunLookupError as exc:
        print_lookup_error(exc, Console(stderr=True, highlight=False, soft_wrap=True))
        return None


def note_loading(record, checkpoint: int | None) -> None:
    """A word on stderr while the model loads, for a person at a terminal only."""
    if sys.stderr.isatty():
        from hftui.core.printable import printable

        print(_("loading the final model of run {id}…", id=printable(record.id)) if checkpoint is None
              else _("loading checkpoint-{n} of run {id}…", n=checkpoint, id=printable(record.id)), file=sys.stderr, flush=True)


def report(exc: BaseException, command: str) -> int | None:
    """EXIT_INVALID after printing a mistake of the person's (no such model, a bad preset or
    input file); None for anything else, which the caller re-raises."""
    from hftui.core.problems import PresetError
    from hftui.core.train.infer import NoModel
    from hftui.tui.errors import print_problems
    from hftui.tui.format import printable

    if isinstance(exc, NoModel):
        print(_("hftui {command}: error: {message}", command=command, message=printable(exc.message)), file=sys.stderr)
        if exc.hint:
            print("    " + _("fix: {hint}", hint=printable(exc.hint)), file=sys.stderr)
        return EXIT_INVALID
    if isinstance(exc, PresetError):
        print_problems(exc.problems, file=exc.file)
        return EXIT_INVALID
    return None


@contextlib.contextmanager
def model_work():
    """While the model loads and works: what libraries print goes to stderr (DeepSpeed logs to
    stdout as it is imported), so stdout holds only the command's answer (and valid --json);
    their warnings, advice and progress bars are left out. Everything is put back after."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from transformers.utils import logging

    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()
