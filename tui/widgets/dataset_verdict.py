"""The dataset preview, saying up what it found, so the sidebar, the review and the step agree.

Validation reads local files the way the loader will, but only the loader itself (in the
preview) can say that `datasets` cannot read them. When it cannot, that is a problem of the
preset like any other: `Read` carries it to the app, which adds it to the problems the whole
wizard draws, for as long as the preset names the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from hftui.core.i18n import N_, _
from hftui.core.preset import Preset
from hftui.core.problems import Problem
from hftui.tui.widgets.dataset_preview import DatasetPreview, Preview

READ_HINT = N_("check that the file's format matches dataset.path (json, csv, parquet, text) and that every row has the same columns")


def read_key(preset: Preset) -> tuple:
    """What the preview reads: the same key means the same verdict."""
    return (preset.get("dataset.path"), repr(preset.get("dataset.data_files")), preset.get("dataset.name"),
            preset.get("dataset.train_split"), str(preset.base_dir))


def read_problem(preset: Preset, preview: Preview) -> Problem | None:
    """The preview's failure as a problem of the key that names the data."""
    if not preview.error:
        return None
    path = "dataset.data_files" if preset.get("dataset.data_files") is not None else "dataset.path"
    return Problem(path, "error", preview.error, _(READ_HINT))


class DatasetVerdict(DatasetPreview):
    @dataclass
    class Read(Message):
        """The preview has read (or failed to read) the data of the preset with `key`."""

        key: tuple
        problem: Problem | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._asked: Preset | None = None

    def load(self, preset: Preset) -> None:
        self._asked = preset
        super().load(preset)

    def _show(self, preview: Preview) -> None:
        super()._show(preview)
        if self._asked is not None:
            self.post_message(self.Read(read_key(self._asked), read_problem(self._asked, preview)))
