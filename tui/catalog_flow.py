"""The option catalog of the wizard's app: read from the cache, else built by a child process.

The app never imports transformers itself: with no cache (the first start on a machine, or a
new library version) `catalog_build.CatalogBuild` starts a child that writes it, and the app
looks at the child every `CATALOG_POLL` seconds instead of waiting. Quitting leaves the child to
finish on its own, so the next start finds the cache.
"""

from __future__ import annotations

from hftui.core.i18n import _
from hftui.core.options import catalog as catalog_mod
from hftui.core.options.catalog_build import CatalogBuild
from hftui.core.preset import Preset

CATALOG_POLL = 0.2  # seconds between looks at the child building the catalog


class CatalogFlow:
    """The catalog steps of `HftuiApp`, which mixes them in (`_catalogs`, `_catalog_build`,
    `_catalog_poll` are its attributes)."""

    def catalog(self, preset: Preset | None = None):
        """The option catalog for the preset's trainer type, from the cache only (None: not built yet)."""
        preset = preset or self.preset
        key = catalog_mod.config_key(preset.trainer_type, preset.task)
        if key not in self._catalogs or self._catalogs[key] is None:
            try:
                self._catalogs[key] = catalog_mod.cached_catalog(preset.trainer_type, preset.task)
            except Exception:
                self._catalogs[key] = None
        return self._catalogs[key]

    def _build_catalog(self) -> None:
        """Build every catalog in a child process, polled from here and never waited for: this
        process never imports transformers, keys never lag behind it, and quitting leaves the
        child to finish the cache for the next start."""
        if self._catalog_build is not None and not self._catalog_build.done():
            return  # one is on its way
        self._catalog_build = CatalogBuild()
        if self._catalog_poll is None:
            self._catalog_poll = self.set_interval(CATALOG_POLL, self._poll_catalog, name="catalog-poll")

    def _poll_catalog(self) -> None:
        build = self._catalog_build
        if build is None or not build.done():
            return
        if self._catalog_poll is not None:
            self._catalog_poll.stop()
            self._catalog_poll = None
        self._catalogs.clear()
        if self.catalog() is None:
            self.notify(build.error or _("The options of the installed transformers/trl could not be read; "
                                         "the training options are not shown. `hftui doctor` says what is installed."),
                        title=_("Options not available"), severity="warning", timeout=10)
        self._catalog_ready()

    def _catalog_ready(self) -> None:
        self._announce()
        self.schedule_validation(0)
