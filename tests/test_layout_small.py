"""The wizard in an 80x24 terminal, the size it is laid out for first: every footer key whole on
screen, every field header with its name, ★, changed mark and default (never cut), switches and
the bottom bar one row each, the step titles on one line, and Save and Run in sight on Review."""

from __future__ import annotations

import time
from pathlib import Path

from rich.cells import cell_len
from textual.errors import NoWidget
from textual.widgets import Button, Footer, Input, Label, Switch
from textual.widgets._footer import FooterKey
from textual.widgets._header import HeaderTitle

from hftui.core import preset as preset_mod
from hftui.core.options.steps import STEPS
from hftui.tui.app import HftuiApp
from hftui.tui.i18n import step_title
from hftui.tui.widgets.field_head import FieldHead, FieldNotes
from hftui.tui.widgets.option_field import OptionField, field_id, show
from hftui.tui.widgets.review_panel import ReviewPanel
from hftui.tui.widgets.step_sidebar import StepSidebar

SMALL = (80, 24)
QUICKSTART = Path(__file__).resolve().parents[1] / "presets" / "quickstart.toml"


async def wait_for(pilot, condition, timeout: float = 30.0) -> bool:
    """Whether `condition` came true within `timeout` seconds (then a moment more to settle)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        await pilot.pause(0.1)
    await pilot.pause(0.2)
    return True


def fields(app, step: str) -> list[OptionField]:
    return [w for w in app.screen.query_one(f"#step-{step}").query(OptionField) if w.display]


def fully_shown(app, widget) -> bool:
    """On screen and not clipped by its container or the screen's edge."""
    try:
        geometry = app.screen.find_widget(widget)
    except NoWidget:  # not laid out (yet)
        return False
    width, height = app.size
    region = geometry.region
    return (widget.display and geometry.visible_region == region and region.width > 0
            and region.x >= 0 and region.y >= 0 and region.right <= width and region.bottom <= height)


def quickstart_app() -> HftuiApp:
    return HftuiApp(preset_mod.load(QUICKSTART), gpus=[])


async def test_every_footer_key_is_whole_on_an_80_column_screen(warm_catalog):
    app = quickstart_app()
    async with app.run_test(size=SMALL) as pilot:
        assert await wait_for(pilot, lambda: fields(app, "model"))

        async def check(where: str) -> None:
            def keys() -> list[FooterKey]:
                return list(app.screen.query_one(Footer).query(FooterKey))

            # the footer draws its keys again after a change of focus: give it that moment
            await wait_for(pilot, lambda: keys() and all(fully_shown(app, key) for key in keys()), timeout=5)
            keys = keys()
            wanted = {b.description for _k, b, _e, _t in app.screen.active_bindings.values() if b.show}
            assert {k.description for k in keys} == wanted, where
            assert {"Search", "Runs", "Quit", "Save", "Run", "Next", "Back", "Review", "Advanced"} <= wanted
            for key in keys:
                text = f"{key.key_display} {key.description}"
                assert fully_shown(app, key), f"{where}: footer key {text!r} is cut or hidden"
                assert key.region.width >= cell_len(text), f"{where}: {text!r} is clipped"

        await check("model step")
        app.screen.goto("training")
        assert await wait_for(pilot, lambda: fields(app, "training"))
        field = app.screen.query_one(f"#{field_id('args.output_dir')}", OptionField)
        field.query_one("#control", Input).focus()  # a text field takes some keys for itself
        await pilot.pause(0.2)
        await check("a text field focused")
        app.screen.goto("review")
        await pilot.pause(0.2)
        await check("review")


async def test_field_headers_show_name_star_mark_and_default_unclipped(warm_catalog):
    app = quickstart_app()
    async with app.run_test(size=SMALL) as pilot:
        app.screen.goto("training")
        assert await wait_for(pilot, lambda: len(fields(app, "training")) > 5)
        heads = [(w, w.query_one(FieldHead)) for w in fields(app, "training")]
        assert any(w.has_class("-changed") for w, _h in heads) and any(w.field.star for w, _h in heads)
        form = app.screen.query_one("#step-training")
        right = form.scrollable_content_region.right
        for widget, head in heads:
            name = head.query_one(".field-name", Label)
            notes = head.query_one(FieldNotes)
            assert name.region.width == cell_len(widget.field.name), widget.path
            assert str(head.query_one(".field-star", Label).render()) == ("★" if widget.field.star else "")
            expected = [f"default: {show(widget.field.default)}"]
            if widget.has_class("-changed"):
                expected.insert(0, "● changed from the default")
            assert [text for text, _style in notes.parts] == expected, widget.path
            lines = str(notes.render()).split("\n")
            width = notes.content_region.width
            assert notes.content_region.right <= right, f"{widget.path}: its header runs past the form"
            assert all(cell_len(line) <= width for line in lines), f"{widget.path}: {lines} in {width} columns"
            assert notes.content_region.height == len(lines), f"{widget.path}: a note wrapped inside itself"
            for part in expected:
                assert any(part in line for line in lines), f"{widget.path}: {part!r} is cut: {lines}"
        # the longest name of the step still has its default in sight, on a line of its own
        app.screen.jump("training", "args.per_device_train_batch_size")
        await pilot.pause(0.5)
        head = app.screen.query_one(f"#{field_id('args.per_device_train_batch_size')}").query_one(FieldHead)
        assert fully_shown(app, head.query_one(FieldNotes))
        assert str(head.query_one(FieldNotes).render()) == "● changed from the default\ndefault: 8"


async def test_switches_nav_bar_and_sidebar_take_one_row_each(warm_catalog):
    app = quickstart_app()
    async with app.run_test(size=SMALL) as pilot:
        assert await wait_for(pilot, lambda: fields(app, "model"))
        assert app.screen.has_class("-narrow") and app.screen.has_class("-short")
        switches = [s for s in app.screen.query_one("#step-model").query(Switch) if s.display]
        assert len(switches) >= 2  # the scratch model's, the advanced options', trust_remote_code's
        assert all(switch.region.height == 1 for switch in switches)
        app.screen.goto("training")
        assert await wait_for(pilot, lambda: any(w.kind == "switch" for w in fields(app, "training")))
        switches = [s for s in app.screen.query_one("#step-training").query(Switch) if s.display]
        assert len(switches) >= 2  # the advanced options', an option's own
        for switch in switches:
            assert switch.region.height == 1, switch
        for widget in (w for w in fields(app, "training") if w.kind == "switch"):
            assert widget.query_one(Switch).region.y == widget.query_one(".switch-state").region.y
        sidebar = app.screen.query_one(StepSidebar)
        for step in STEPS:
            app.screen.goto(step)
            await pilot.pause(0.05)
            nav, where = app.screen.query_one("#nav"), app.screen.query_one("#nav-where", Label)
            assert nav.region.height == 1
            assert cell_len(str(where.render())) <= where.content_region.width, step
            prompt = sidebar.get_option(step).prompt
            assert cell_len(prompt.plain) <= sidebar.scrollable_content_region.width, step
        title = app.screen.query_one(HeaderTitle)
        assert cell_len(str(title.render())) <= title.content_region.width  # the shipped note too
        # a wide screen gets the full step titles
        await pilot.resize_terminal(120, 36)
        await pilot.pause(0.3)
        assert app.screen.has_class("-wide") and app.screen.has_class("-tall")
        assert [sidebar.get_option(s).prompt.plain[2:] for s in STEPS] == [step_title(s) for s in STEPS]


async def test_save_and_run_are_in_sight_on_review_without_scrolling(warm_catalog):
    app = quickstart_app()
    async with app.run_test(size=SMALL) as pilot:
        assert await wait_for(pilot, lambda: fields(app, "model"))
        await pilot.press("f9")
        assert await wait_for(pilot, lambda: app.screen.step == "review" and app.validated)
        panel = app.screen.query_one(ReviewPanel)
        assert panel.scroll_y == 0
        save, run = app.screen.query_one("#review-save", Button), app.screen.query_one("#review-run", Button)
        for button in (save, run):
            assert fully_shown(app, button), button.id
            assert button.region.width >= cell_len(str(button.label)), button.id
        assert not app.screen.query_one("#nav-next", Button).display
        assert not run.disabled  # the quickstart preset has nothing wrong
        app.screen.goto("training")
        await pilot.pause(0.1)
        assert not save.display and not run.display and app.screen.query_one("#nav-next", Button).display


async def test_two_quick_steps_settle_and_the_wizard_then_rests(warm_catalog):
    """Ctrl+N twice in one burst: the sidebar follows without posting a highlight of its own, which
    would otherwise reach the wizard after the second step as a person's choice and send it back
    and forth between the two steps forever (a core at 100% while it looks idle)."""
    app = quickstart_app()
    async with app.run_test(size=SMALL) as pilot:
        assert await wait_for(pilot, lambda: fields(app, "model"))
        screen = app.screen
        visits: list[str] = []
        goto = screen.goto
        screen.goto = lambda step: (visits.append(step), goto(step))[1]
        screen.goto(STEPS[1])
        screen.goto(STEPS[2])  # before the first move's messages are handled
        await pilot.pause(0.5)
        settled = len(visits)
        await pilot.pause(0.5)
        assert len(visits) == settled == 2, visits
        assert screen.step == STEPS[2]
        assert app.screen.query_one(StepSidebar).highlighted == STEPS.index(STEPS[2])


async def test_a_wrong_value_typed_at_the_bottom_edge_shows_its_message(warm_catalog):
    """At 80x24 the field being typed into may sit on the last rows: its error line is scrolled
    into view when it appears, never left under the nav bar."""
    app = quickstart_app()
    async with app.run_test(size=SMALL) as pilot:
        assert await wait_for(pilot, lambda: fields(app, "model"))
        app.screen.goto("training")
        assert await wait_for(pilot, lambda: any(f.path == "args.max_steps" for f in fields(app, "training")))
        field = app.screen.query_one(f"#{field_id('args.max_steps')}", OptionField)
        form = app.screen.query_one("#step-training")
        form.scroll_to(y=max(0, field.virtual_region.bottom - form.scrollable_content_region.height), animate=False)
        await pilot.pause(0.2)
        control = field.query_one("#control", Input)
        control.focus()
        control.value = ""
        await pilot.press("x")
        error = field.query_one(".field-error")
        assert await wait_for(pilot, lambda: "whole number" in str(error.render()), timeout=10)
        assert await wait_for(pilot, lambda: fully_shown(app, error), timeout=5)
