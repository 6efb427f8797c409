"""The Try pane: type an input, read what a run's trained model answers.

The model runs in a child process (`core.train.infer_client`): this process never imports torch.
A thread reads the child's line-delimited JSON events and hands each one to the screen; generated
text streams into the answer as it comes. Choosing another model (the final one or a checkpoint)
starts a new child; Esc closes the pane and ends the child.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Select, Static

from hftui.core.i18n import N_, _
from hftui.core.printable import printable
from hftui.core.train.infer import FINAL, CLASSIFY, SCORE, ModelSource, model_sources, output_dir_of
from hftui.core.train.infer_client import InferClient
from hftui.tui.i18n import translate_bindings


def _source_value(source: ModelSource) -> str:
    return FINAL if source.step is None else str(source.step)


def _model_name(name: str) -> str:
    """A model as the pane names it: the final model in the reader's language, checkpoint-N as is."""
    return _("final model") if name == FINAL else name


class TryModelScreen(Screen[None]):
    """`TryModelScreen(run_dir, checkpoint=None)`: the run's final model, or checkpoint-N."""

    DEFAULT_CSS = """
    TryModelScreen #try-top { height: auto; min-height: 3; max-height: 50%; padding: 0 1; }
    TryModelScreen #try-model { width: 32; }
    TryModelScreen #try-status { width: 1fr; height: auto; padding: 1 1 0 1; }
    TryModelScreen #try-status.-error { color: $error; }
    TryModelScreen #try-transcript { height: 1fr; padding: 0 1; }
    TryModelScreen .try-prompt { color: $accent; margin-top: 1; }
    TryModelScreen .try-answer { padding-left: 2; }
    TryModelScreen .try-answer.-error { color: $error; }
    TryModelScreen #try-input { margin: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "close", N_("Back"), id="try.close", tooltip=N_("Close the Try pane and end the model's process")),
        Binding("ctrl+l", "clear", N_("Clear"), id="try.clear", tooltip=N_("Clear the answers shown")),
        Binding("ctrl+r", "restart", N_("Reload model"), id="try.restart", tooltip=N_("Start the model's process again")),
    ]

    def __init__(self, run_dir: str | Path, checkpoint: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        translate_bindings(self)
        self.run_dir = Path(run_dir)
        self.found = self._sources()
        if checkpoint is None and self.found and self.found[0].step is not None:
            checkpoint = self.found[0].step  # no final model (a stopped run): its newest checkpoint
        self.checkpoint = checkpoint
        self.client: InferClient | None = None
        self.ready = False
        self.busy = False
        self.kind: str | None = None
        self.answers: list[dict] = []  # every answer event, for whoever drives the pane
        self.streamed_parts = 0  # generated text events received (streaming, before each answer)
        self.error: str | None = None
        self._streamed = ""
        self._answer: Static | None = None
        self._generation = 0  # which child the events come from (a model change starts another)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="try-top"):
            yield Select(self._options(), value=self._initial_value(), allow_blank=True, prompt=_("no model yet"),
                         id="try-model", tooltip=_("the final model or a checkpoint (LoRA adapters are applied on the fly)"))
            yield Static("", id="try-status")
        yield VerticalScroll(id="try-transcript")
        yield Input(placeholder=_("type an input and press Enter"), id="try-input")
        yield Footer()

    def _sources(self) -> list[ModelSource]:
        try:
            return model_sources(output_dir_of(self.run_dir))
        except Exception:  # a run folder or preset that cannot be read: the child says why
            return []

    def _options(self) -> list[tuple[str, str]]:
        return [(_model_name(s.label) + (" (LoRA)" if s.adapter else ""), _source_value(s)) for s in self.found]

    def _initial_value(self):
        values = [v for _label, v in self._options()]
        wanted = FINAL if self.checkpoint is None else str(self.checkpoint)
        return wanted if wanted in values else Select.NULL

    def on_mount(self) -> None:
        self.title = _("try {run}", run=self.run_dir.name)
        self.query_one("#try-input", Input).focus()
        self._start()

    def on_unmount(self) -> None:
        self._generation += 1  # a child still starting is closed as soon as it is there
        self._end_child()

    # ------------------------------------------------------------------ the child

    def _start(self) -> None:
        self._end_child()
        self._generation += 1
        self.ready, self.busy, self.kind, self.error = False, False, None, None
        self._status(_("loading the final model…") if self.checkpoint is None
                     else _("loading {checkpoint}…", checkpoint=f"checkpoint-{self.checkpoint}"))
        self._read(self._generation, self.run_dir, self.checkpoint)

    @work(thread=True, group="try-model", exit_on_error=False, name="model process")
    def _read(self, generation: int, run_dir: Path, checkpoint: int | None) -> None:
        try:
            client = InferClient(run_dir, checkpoint)
        except OSError as exc:
            message = _("cannot start the model process: {error}", error=exc)
            self.app.call_from_thread(self._on_event, generation, {"event": "error", "message": message})
            return
        self.app.call_from_thread(self._adopt, generation, client)
        for event in client.events():
            self.app.call_from_thread(self._on_event, generation, event)
        self.app.call_from_thread(self._on_event, generation, {"event": "ended"})

    def _adopt(self, generation: int, client: InferClient) -> None:
        if generation != self._generation or not self.is_attached:
            client.close()  # the pane moved on before this child started
            return
        self.client = client

    def _end_child(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close()

    def _on_event(self, generation: int, event: dict) -> None:
        if generation != self._generation:
            return
        kind = event.get("event")
        if kind == "ready":
            self.ready, self.kind = True, event.get("kind")
            self._status(_("{model} ready: {what}", model=_model_name(str(event.get("model"))), what=self._verb()))
        elif kind == "text" and self._answer is not None:
            self.streamed_parts += 1
            self._streamed += str(event.get("text", ""))
            self._answer.update(Text(printable(self._streamed)))
            self._scroll()
        elif kind == "answer":
            self.busy = False
            self.answers.append(event)
            if self._answer is not None:
                self._answer.update(self._render_answer(event))
            self._scroll()
        elif kind == "error":
            self.busy = False
            message = str(event.get("message", "")) + ("\n" + _("fix: {hint}", hint=event["hint"]) if event.get("hint") else "")
            if not self.ready:
                self.error = message
                self._status(message, error=True)
            elif self._answer is not None:
                self._answer.update(Text(printable(message)))
                self._answer.add_class("-error")
        elif kind == "ended":
            if self.ready:
                self.ready = False
                self._status(_("the model's process ended; ctrl+r starts it again"), error=True)
            elif self.error is None:
                self._status(_("the model's process ended before it was ready"), error=True)

    def _verb(self) -> str:
        verbs = {CLASSIFY: N_("type a text to classify"), SCORE: N_("type a text to score")}
        return _(verbs.get(self.kind or "", N_("type a prompt")))

    def _status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#try-status", Static)
        status.update(Text(printable(text)))
        status.set_class(error, "-error")

    def _render_answer(self, event: dict) -> Text:
        if "probabilities" in event:
            ranked = sorted(event["probabilities"].items(), key=lambda kv: -kv[1])
            width = max(len(printable(k)) for k, _p in ranked)
            lines = [f"{printable(k):<{width}}  {p:6.1%}  " + "█" * round(p * 20) for k, p in ranked]
            return Text("\n".join(lines))
        if "score" in event:
            return Text(_("score {value}", value=f"{event['score']:.4f}"))
        return Text(printable(event.get("output", "")))

    def _scroll(self) -> None:
        self.query_one("#try-transcript", VerticalScroll).scroll_end(animate=False)

    # ------------------------------------------------------------------ input

    @on(Input.Submitted, "#try-input")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if not self.ready or self.client is None:
            self.notify(self.error or _("the model is still loading"), severity="warning")
            return
        if self.busy:
            self.notify(_("the model is still answering"), severity="warning")
            return
        if not self.client.send(text):
            self.notify(_("the model's process has ended"), severity="error")
            return
        self.busy = True
        event.input.value = ""
        transcript = self.query_one("#try-transcript", VerticalScroll)
        self._streamed = ""
        self._answer = Static("…", classes="try-answer")
        transcript.mount(Static(Text("› " + printable(text)), classes="try-prompt"))
        transcript.mount(self._answer)
        self._scroll()

    @on(Select.Changed, "#try-model")
    def _model_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        checkpoint = None if event.value == FINAL else int(event.value)
        if checkpoint != self.checkpoint:
            self.checkpoint = checkpoint
            self._start()

    # ------------------------------------------------------------------ actions

    def action_restart(self) -> None:
        self._start()

    def action_clear(self) -> None:
        self.query_one("#try-transcript", VerticalScroll).remove_children()
        self._answer = None

    def action_close(self) -> None:
        self._end_child()
        if len(self.app.screen_stack) <= 1:
            self.app.exit()
        else:
            self.dismiss(None)
