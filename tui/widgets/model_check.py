"""Says whether the model the preset names can be found: local folders at once, Hub ids in a worker.

A Hub id is only looked up when the machine is online (no HF_HUB_OFFLINE) and then with a short
timeout; offline, the note says plainly that the id will be fetched when the run starts.
"""

from __future__ import annotations

from textual import work
from textual.widgets import Static

from hftui.core.checks.hub import offline
from hftui.core.i18n import _
from hftui.core.options.paths import looks_local
from hftui.core.preset import Preset


def describe_local(preset: Preset) -> tuple[str, str] | None:
    """(state, text) answered without the network, or None when a Hub lookup is needed."""
    scratch = preset.section("model.scratch")
    name = preset.get("model.name_or_path") or ""
    if scratch:
        arch = scratch.get("architecture", "llama")
        return "ok", _("✓ a fresh {arch} model built from a config: nothing to download", arch=arch)
    if not name:
        return "error", _("✗ no model yet: type a Hub id or a local folder, pick one below, or switch on a scratch model")
    if looks_local(name) or preset.resolve(name).exists():
        path = preset.resolve(name)
        if not path.exists():
            return "error", _("✗ local folder {path} does not exist", path=path)
        if not path.is_dir():
            return "error", _("✗ {path} is a file; a model is a folder with config.json", path=path)
        if not (path / "config.json").exists():
            return "warning", _("! {path} has no config.json (is it a model folder?)", path=path)
        return "ok", _("✓ local model folder {path}", path=path)
    if offline():
        return "notice", _("⇣ {name}: offline (HF_HUB_OFFLINE), not checked now; it is downloaded when the run starts on a machine with internet", name=name)
    return None


class ModelCheck(Static):
    """One line about the model: found, missing, or not checkable offline."""

    def check(self, preset: Preset) -> None:
        local = describe_local(preset)
        if local is not None:
            self._show(*local)
            return
        name = preset.get("model.name_or_path")
        self._show("notice", _("… looking up {name} on the Hugging Face Hub", name=name))
        self._lookup(name)

    def _show(self, state: str, text: str) -> None:
        for cls in ("-ok", "-error", "-warning", "-notice"):
            self.remove_class(cls)
        self.add_class(f"-{state}")
        self.update(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="model-check")
    def _lookup(self, name: str) -> None:
        try:
            from huggingface_hub import HfApi

            HfApi().model_info(name, timeout=5)
            state, text = "ok", _("✓ {name} found on the Hugging Face Hub", name=name)
        except Exception as exc:  # not found, gated, or no network: all said in one line
            kind = type(exc).__name__
            if "NotFound" in kind:
                state, text = "error", _("✗ {name} is not a model on the Hugging Face Hub", name=name)
            elif "Gated" in kind or "401" in str(exc):
                state, text = "warning", _("! {name} is gated: set HF_TOKEN in the environment and accept its terms on the Hub", name=name)
            else:
                state, text = "notice", _("⇣ {name}: the Hub could not be reached ({kind}); it is downloaded when the run starts", name=name, kind=kind)
        self.app.call_from_thread(self._show, state, text)
