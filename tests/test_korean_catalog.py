"""The Korean catalog against the code: every message wrapped in `_()` has a translation with the
same placeholders, and every translation still has its message in the code."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from hftui.core.i18n import catalog

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for folder in ("core", "tui") for p in sorted((ROOT / folder).rglob("*.py"))
           if "metrics" not in p.parts]


def wrapped_messages() -> dict[str, list[str]]:
    """Each literal passed to `_()` or `N_()` in the code, with where it is."""
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.setdefault(node.args[0].value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_wrapped_message_has_a_korean_translation_with_its_placeholders():
    ko = catalog("ko")
    missing = [f"{where[0]}: {msg!r}" for msg, where in wrapped_messages().items() if msg not in ko]
    assert not missing, "no Korean translation in core/locale/ko/*.toml for:\n" + "\n".join(missing)
    wrong = [f"{msg!r}: {placeholders(msg)} vs {placeholders(ko[msg])}"
             for msg in wrapped_messages() if placeholders(msg) != placeholders(ko[msg])]
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)
    untranslated = [msg for msg in wrapped_messages() if re.search(r"[A-Za-z]{3}", msg) and ko[msg] == msg]
    assert not untranslated, "a translation that is the English text itself:\n" + "\n".join(map(repr, untranslated))


def test_no_translation_outlives_its_message():
    stale = sorted(set(catalog("ko")) - set(wrapped_messages()))
    assert not stale, "translations whose English message is no longer in the code:\n" + "\n".join(map(repr, stale))


def test_no_message_is_translated_in_two_files():
    import tomllib

    from hftui.core.i18n import LOCALE_DIR

    where: dict[str, list[str]] = {}
    for path in sorted((LOCALE_DIR / "ko").glob("*.toml")):
        for key in tomllib.loads(path.read_text(encoding="utf-8")):
            where.setdefault(key, []).append(path.name)
    twice = {key: files for key, files in where.items() if len(files) > 1}
    assert not twice, "translated in more than one file (the later one wins silently):\n" + "\n".join(
        f"{key!r}: {files}" for key, files in twice.items())
