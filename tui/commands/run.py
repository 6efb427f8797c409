"""`hftui run PRESET`: validate, start the run in its own session, follow it headless.

The run survives this command: Ctrl-C asks it to save a checkpoint and stop (a second Ctrl-C
kills it), and closing the terminal leaves it training (`hftui attach` finds it again).
Replaying a run (`--again RUN`, or its folder's preset.toml) first lists what differs from the
environment it ran in (`tui/replay_text.py`); the run then starts all the same.
"""

from __future__ import annotations

import signal

from hftui.core.i18n import _


def add_arguments(parser) -> None:
    parser.add_argument("preset", nargs="?", help=_("the preset file (.toml) to train"))
    parser.add_argument("--again", metavar="RUN",
                        help=_("train a run's preset again: a run id as 'hftui runs' shows it, or a run folder"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help=_("override a preset value, e.g. --set args.learning_rate=1e-4 (repeatable)"))
    parser.add_argument("--detach", action="store_true", help=_("start the run and return at once, printing its id"))
    parser.add_argument("--resume", action="store_true",
                        help=_("continue from the last checkpoint in the preset's output_dir"))
    parser.add_argument("--trust-remote-code", action="store_true",
                        help=_("allow a preset with model.trust_remote_code = true to run the model's own Python code"))
    parser.add_argument("--name", help=_("a name for this run (default: the preset's name)"))


def main(args) -> int:
    from rich.console import Console

    from hftui.core.checks import validate_file
    from hftui.core.problems import PresetError
    from hftui.core.run import start as runs
    from hftui.core.run.folder import EXIT_INVALID, EXIT_OK
    from hftui.core.run.replay import ReplayError, replayed_run
    from hftui.tui.errors import print_problems
    from hftui.tui.format import printable, shown
    from hftui.tui.replay_text import environment_now

    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    again = args.again
    try:
        replayed = replayed_run(args.preset, again)
    except ReplayError as exc:
        err.print(f"hftui run: {printable(str(exc))}", markup=False)
        return EXIT_INVALID
    if again:
        args.preset = str(replayed.preset_file)

    unusable = runs.check_state_dir()
    if unusable:  # nothing can be recorded: say so before the (slower) checks of the preset
        print_problems([unusable], args.preset)
        return EXIT_INVALID
    preset, problems = validate_file(args.preset, args.overrides, for_run=True)
    env = environment_now(replayed, preset, err) if replayed is not None and preset is not None else None
    if preset is not None:
        consent = runs.remote_code_problem(preset, args.trust_remote_code)
        if consent:
            problems.append(consent)
    if preset is None or any(p.is_error for p in problems):
        print_problems(problems, args.preset)
        return EXIT_INVALID
    if problems:  # warnings and notices: shown, not fatal
        print_problems(problems, args.preset)
    try:
        run = runs.start_run(
            preset,
            resume_from="last" if args.resume else None,
            trust_remote_code=args.trust_remote_code,
            name=args.name,
            validate=False,
            env=env,
        )
    except PresetError as exc:
        print_problems(exc.problems, exc.file or args.preset)
        return EXIT_INVALID

    if args.detach:
        out.print(run.id)
        err.print(_("started run [bold]{id}[/] ({name}); it goes on after this terminal closes", id=shown(run.id), name=shown(run.name)))
        err.print("  " + _("follow it:  hftui attach {id}", id=shown(run.id)))
        err.print("  " + _("stop it:    hftui stop {id}", id=shown(run.id)))
        err.print("  " + _("its log:    {path}", path=shown(str(run.log_path))))
        return EXIT_OK

    from hftui.tui.headless import HeadlessDisplay

    out.print(_("run [bold]{id}[/] ({name}) started; Ctrl-C stops it with a checkpoint", id=shown(run.id), name=shown(run.name)), soft_wrap=True)
    display = HeadlessDisplay(run, out)
    interrupts = Interrupts(run, display.say)
    previous = {sig: signal.signal(sig, interrupts.handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        display.follow(on_tick=interrupts.act)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    display.print_summary()
    return display.exit_code()


class Interrupts:
    """Ctrl-C (or SIGTERM) once: a graceful stop; twice: kill. Signals only count; the display
    loop acts on them between polls, so no half-done request is ever interrupted."""

    def __init__(self, run, say):
        self.run, self.say = run, say
        self.count = 0
        self.done = 0

    def handler(self, signum, frame) -> None:
        self.count += 1

    def act(self) -> None:
        from hftui.core.run.stop import kill_run, request_stop
        from hftui.tui.headless import STOPPING_NOTE

        if self.count >= 1 and self.done < 1:
            self.done = 1
            request_stop(self.run)
            self.say(_(STOPPING_NOTE))
        if self.count >= 2 and self.done < 2:
            self.done = 2
            self.say(_("killing the run's processes"), "red")
            kill_run(self.run)
