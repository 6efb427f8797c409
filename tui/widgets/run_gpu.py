"""GPU panel: per device, a memory gauge (used/total), a short memory history, utilisation."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import ProgressBar, Sparkline, Static

from hftui.core.i18n import _
from hftui.core.run.series import GpuDevice
from hftui.core.run.state import RunState
from hftui.tui.format import fmt_bytes

HISTORY_POINTS = 60  # the sparkline shows the newest readings


class GpuCard(Vertical):
    DEFAULT_CSS = """
    GpuCard { height: auto; }
    GpuCard .gpu-name { height: 1; }
    GpuCard ProgressBar { height: 1; }
    GpuCard Sparkline { height: 1; margin-right: 1; }
    """

    def __init__(self, index: int) -> None:
        super().__init__(id=f"gpu-{index}")
        self.index = index
        self.device: GpuDevice | None = None
        self._ready = False  # children composed: until then a reading waits in `device`

    def compose(self) -> ComposeResult:
        yield Static(classes="gpu-name")
        yield ProgressBar(total=100, show_eta=False, show_percentage=True)
        yield Sparkline([], summary_function=max)

    def on_mount(self) -> None:
        self._ready = True
        if self.device is not None:
            self.show(self.device)

    def show(self, dev: GpuDevice) -> None:
        self.device = dev
        if not self._ready:
            return
        util = "—" if dev.util is None else f"{dev.util:.0f}%"
        self.query_one(".gpu-name", Static).update(_(
            "[b]GPU {index}[/b] {name}  {used} / {total}  util {util}", index=dev.index, name=escape(dev.name),
            used=fmt_bytes(dev.used), total=fmt_bytes(dev.total), util=util))
        frac = dev.memory_fraction
        self.query_one(ProgressBar).update(total=100, progress=0 if frac is None else round(frac * 100, 1))
        ys = dev.memory.points()[1][-HISTORY_POINTS:]
        self.query_one(Sparkline).data = ys or [0]


class RunGpu(Widget):
    """'no GPU: running on CPU' when there is none; one card per device otherwise."""

    DEFAULT_CSS = """
    RunGpu { height: auto; padding: 0 1; }
    RunGpu #gpu-none { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static(_("waiting for GPU readings…"), id="gpu-none")

    def show(self, state: RunState) -> None:
        none = self.query_one("#gpu-none", Static)
        if not state.gpus:
            none.display = True
            if state.no_gpu:
                none.update(_("no GPU: running on CPU"))
            elif state.finished:
                none.update(_("no GPU readings were recorded"))
            else:
                none.update(_("waiting for GPU readings…"))
            self.set_class(state.no_gpu, "-cpu")
            return
        none.display = False
        self.remove_class("-cpu")
        for index, dev in sorted(state.gpus.items()):
            cards = self.query(f"#gpu-{index}")
            if cards:
                cards.first(GpuCard).show(dev)
            else:
                card = GpuCard(index)
                card.device = dev
                self.mount(card)

    def text(self) -> str:
        """What the panel says, as plain text (for views that copy it, and tests)."""
        parts = []
        for static in self.query(Static):
            if static.display:
                parts.append(str(static.render()))
        return "\n".join(parts)
