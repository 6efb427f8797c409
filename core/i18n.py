"""The language people read: English, or Korean when HFTUI_LANG or the locale asks for it.

Messages are written in English where they are made and wrapped in `_()`: the English text is
the key, and the Korean catalog (`core/locale/ko/*.toml`, one file per area of the code) holds
its translation. A message without a translation is shown in English; `tests/test_korean.py`
fails on any `_()` message the catalog lacks. Placeholders (`{name}`) are filled after the
message is translated, so a translation may move them.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "ko")


def language() -> str:
    """'ko' when HFTUI_LANG (first) or LC_ALL / LC_MESSAGES / LANG ask for Korean, else 'en'."""
    explicit = os.environ.get("HFTUI_LANG", "").strip().lower()
    if explicit:
        return "ko" if explicit.startswith("ko") else "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "").strip().lower()
        if value:
            return "ko" if value.startswith("ko") else "en"
    return "en"


def is_korean() -> bool:
    return language() == "ko"


def _read_folder(folder: Path) -> dict[str, str]:
    try:
        import tomllib as toml_reader
    except ModuleNotFoundError:  # Python 3.10
        import tomlkit as toml_reader
    merged: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        merged.update({str(k): str(v) for k, v in toml_reader.loads(path.read_text(encoding="utf-8")).items()})
    return merged


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """Every message translation of one language (English text -> translation), read once."""
    return _read_folder(LOCALE_DIR / lang)


@functools.cache
def option_helps(lang: str) -> dict[str, str]:
    """The help of the installed libraries' options in one language, by option name
    (`locale/<lang>/options/*.toml`): the libraries document them in English only."""
    return _read_folder(LOCALE_DIR / lang / "options")


def _(text: str, /, **values: object) -> str:
    """`text` in the reader's language, its `{placeholders}` filled from `values`."""
    if is_korean():
        text = catalog("ko").get(text, text)
    return text.format(**values) if values else text


def N_(text: str, /) -> str:
    """Marks a message kept in a constant, translated with `_()` where it is shown."""
    return text


def option_help(name: str, english: str) -> str:
    """An option's help in the reader's language; `english` is the library's own text."""
    if is_korean():
        return option_helps("ko").get(name) or english
    return english


def pick(en: str, ko: str) -> str:
    """For text that carries both languages itself (an option's help, a step's title)."""
    return ko if (ko and is_korean()) else en
