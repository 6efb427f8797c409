"""The review: every problem (each leads to its step), what changed, memory and launch command.
Save and Run sit in the wizard's bottom bar (`WizardNav`), in sight however long the review is."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from hftui.core.i18n import N_, _
from hftui.core.problems import Problem
from hftui.tui.format import printable
from hftui.tui.i18n import step_title, t

STYLE = {"error": "bold red", "warning": "yellow", "notice": "cyan"}
SEVERITY = {"error": N_("error"), "warning": N_("warning"), "notice": N_("notice")}


class ReviewPanel(VerticalScroll):
    @dataclass
    class JumpTo(Message):
        step: str
        path: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="step-form")
        self._targets: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield Label(step_title("review"), classes="step-title")
        yield Label(t("problems"), classes="review-heading")
        yield OptionList(id="review-problems")
        yield Label(t("changes"), classes="review-heading")
        yield Static("", id="review-changes", markup=False)
        yield Label(t("memory"), classes="review-heading")
        yield Static("…", id="review-memory", markup=False)
        yield Label(t("launch"), classes="review-heading")
        yield Static("…", id="review-launch", markup=False)

    def show_problems(self, problems: list[tuple[Problem, str]]) -> None:
        """problems: (Problem, step) pairs, errors first."""
        box = self.query_one("#review-problems", OptionList)
        box.clear_options()
        self._targets = []
        if not problems:
            box.add_option(Option(Text("✓ " + t("no_problems"), style="green"), id="none", disabled=True))
        for i, (p, step) in enumerate(problems):
            text = Text()
            severity = SEVERITY.get(p.severity)
            text.append(f"{_(severity) if severity else p.severity}: ", style=STYLE.get(p.severity, ""))
            if p.path:
                text.append(f"{printable(p.path)}: ", style="bold")
            text.append(printable(p.message))
            if p.hint:
                text.append(f" — {printable(p.hint)}", style="dim")
            text.append(f"  → {step_title(step)}", style="italic")
            box.add_option(Option(text, id=f"p{i}"))
            self._targets.append((step, p.path))
        self.set_class(any(p.is_error for p, _step in problems), "-blocked")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        oid = event.option.id or ""
        if oid.startswith("p"):
            step, path = self._targets[int(oid[1:])]
            self.post_message(self.JumpTo(step, path))

    def show_changes(self, lines: list[str]) -> None:
        self.query_one("#review-changes", Static).update("\n".join(lines) if lines else _("(none: every option is at its default)"))

    def show_memory(self, text: str) -> None:
        self.query_one("#review-memory", Static).update(text)

    def show_launch(self, text: str) -> None:
        self.query_one("#review-launch", Static).update(text)
