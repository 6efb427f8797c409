"""The wizard's bottom bar, one row: Back, where the person is, and Next. On Review, Save and Run
take Next's place, so the wizard's last actions never sit below the fold of a small terminal."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Label

from hftui.core.i18n import _
from hftui.core.options.steps import STEPS
from hftui.tui.i18n import step_title, t


class WizardNav(Horizontal):
    """The buttons post `Button.Pressed` (ids nav-back, nav-next, review-save, review-run); the
    wizard screen acts on them."""

    def compose(self) -> ComposeResult:
        yield Button(f"◀ {t('back')}", id="nav-back", compact=True, tooltip=_("Previous step (ctrl+b / F7)"))
        yield Label("", id="nav-where", markup=False)
        yield Button(f"{t('next')} ▶", id="nav-next", variant="primary", compact=True, tooltip=_("Next step (ctrl+n / F8)"))
        yield Button(f"{t('save')} (ctrl+s)", id="review-save", variant="primary", compact=True,
                     tooltip=_("Save the preset (asks for a file name when needed)"))
        yield Button(f"{t('run')} (ctrl+r)", id="review-run", variant="success", compact=True,
                     tooltip=_("Save, then start training in the background"))

    def show_step(self, step: str) -> None:
        i = STEPS.index(step)
        last = i == len(STEPS) - 1
        self.query_one("#nav-where", Label).update(f"{i + 1}/{len(STEPS)} · {step_title(step)}")
        self.query_one("#nav-back", Button).disabled = i == 0
        self.query_one("#nav-next", Button).display = not last
        for bid in ("#review-save", "#review-run"):
            self.query_one(bid, Button).display = last

    def block_run(self, blocked: bool) -> None:
        """Run waits until the review lists no error."""
        self.query_one("#review-run", Button).disabled = blocked
