"""Preset text: read a file safely, parse TOML with every syntax error at once, and find the
line each dotted key was written on (for messages that point at the user's line)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path

from hftui.core.i18n import N_, _
from hftui.core.problems import PresetError, Problem


# -- TOML parsing with positions --------------------------------------------------------------
_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _clean_key(k: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in k.split("."))


def key_lines(text: str) -> dict[str, int]:
    """Map each dotted key path (and table header) in TOML text to its 1-based line number.

    tomllib reports no positions, so the validator uses this light scan to point at lines.
    """
    lines: dict[str, int] = {}
    table = ""
    depth = 0  # inside a multi-line array or string we do not look for keys
    in_multiline_str = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline_str:
            if raw.count('"""') % 2 == 1 or raw.count("'''") % 2 == 1:
                in_multiline_str = False
            continue
        if depth == 0:
            header = _HEADER.match(raw)
            if header and "=" not in raw.split("#")[0]:
                table = _clean_key(header.group(1))
                lines.setdefault(table, number)
                continue
            key = _KEY.match(raw)
            if key:
                dotted = _clean_key(key.group(1))
                full = f"{table}.{dotted}" if table else dotted
                lines.setdefault(full, number)
                rest = raw[key.end():]
                if rest.count('"""') % 2 == 1 or rest.count("'''") % 2 == 1:
                    in_multiline_str = True
                depth += _bracket_balance(rest)
                continue
        else:
            depth += _bracket_balance(raw)
            depth = max(depth, 0)
    return lines


def _bracket_balance(s: str) -> int:
    s = re.sub(r'"(?:\\.|[^"\\])*"|\'[^\']*\'', "", s.split("#")[0] if "#" in s and '"' not in s else s)
    return s.count("[") + s.count("{") - s.count("]") - s.count("}")


def line_of(lines: dict[str, int], dotted: str) -> int | None:
    """The line of a key, or of the nearest enclosing table that has one."""
    parts = dotted.split(".")
    while parts:
        key = ".".join(parts)
        if key in lines:
            return lines[key]
        parts.pop()
    return None


def parse_toml(text: str, file: str | Path | None = None) -> dict:
    """Parse TOML; on syntax errors, raise one PresetError naming every broken line.

    tomllib stops at the first error, so each broken line is blanked and the text parsed again,
    up to ten times, to report the later ones too.
    """
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise PresetError([_too_deep(file)], file) from None
    except tomllib.TOMLDecodeError as first:
        error: tomllib.TOMLDecodeError | None = first
    else:
        deep = too_deep_at(data)
        if deep is not None:
            lines = key_lines(text)
            line = next((n for key, n in lines.items() if key.startswith(deep)), None)
            raise PresetError([replace(_too_deep(file, deep), line=line)], file)
        return data
    lines = text.splitlines()
    problems: list[Problem] = []
    seen: set[int] = set()
    while error is not None and len(problems) < 10:
        msg = str(error)
        m = _TOML_POS.search(msg)
        line = int(m.group(1)) if m else None
        clean = _TOML_POS.sub("", msg).replace("(at end of document)", "").strip()
        if line is None and ("overwrite" in clean.lower() or "twice" in clean.lower()):
            line = _duplicate_line(lines)
        source = lines[line - 1] if line and 0 < line <= len(lines) else ""
        problems.append(Problem("", "error", _("not valid TOML: {error}", error=clean), _syntax_hint(clean, source), line, str(file) if file else None))
        if not line or line in seen or line > len(lines):
            break
        seen.add(line)
        lines[line - 1] = ""
        try:
            tomllib.loads("\n".join(lines))
            error = None
        except RecursionError:
            problems.append(_too_deep(file))
            error = None
        except tomllib.TOMLDecodeError as exc:
            nxt = _TOML_POS.search(str(exc))
            later = int(nxt.group(1)) > line if nxt else "end of document" in str(exc)
            error = exc if later else None  # only errors further down
    raise PresetError(problems, file)


# No preset nests deeper than a few levels ([model.scratch], data_files = { ... }); a file that
# does is not a preset, and walking it (tomllib, deepcopy, the checks) would exhaust the stack.
MAX_NESTING = 20


def too_deep_at(value) -> str | None:
    """The dotted key (at most three parts) under which `value` nests deeper than MAX_NESTING."""
    stack = [(value, 0, ())]
    while stack:
        node, depth, keys = stack.pop()
        if depth > MAX_NESTING:
            return ".".join(keys[:3])
        if isinstance(node, dict):
            stack.extend((child, depth + 1, keys + (str(key),)) for key, child in node.items() if isinstance(child, (dict, list)))
        elif isinstance(node, list):
            stack.extend((child, depth + 1, keys) for child in node if isinstance(child, (dict, list)))
    return None


def _too_deep(file, key: str = "") -> Problem:
    if key:
        message = _("tables or arrays nested more than {levels} levels deep (under {key}...): this is not a preset hftui can read", levels=MAX_NESTING, key=key)
    else:
        message = _("tables or arrays nested more than {levels} levels deep: this is not a preset hftui can read", levels=MAX_NESTING)
    return Problem(key.split(".")[0], "error", message,
                   _("a preset nests a few levels at most ([section], [model.scratch], inline tables): flatten or remove the deep value"),
                   None, str(file) if file else None)


def _duplicate_line(lines: list[str]) -> int | None:
    """The line of the first key or table written a second time (tomllib gives no position)."""
    table = ""
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        header = _HEADER.match(raw)
        if header and "=" not in raw.split("#")[0]:
            table = _clean_key(header.group(1))
            if not raw.lstrip().startswith("[["):
                if f"[{table}]" in seen:
                    return number
                seen.add(f"[{table}]")
            continue
        key = _KEY.match(raw)
        if key:
            full = f"{table}.{_clean_key(key.group(1))}"
            if full in seen:
                return number
            seen.add(full)
    return None


def _syntax_hint(message: str, source: str) -> str:
    """What to write instead, for the TOML mistakes people make most."""
    value = source.split("=", 1)[1].split("#", 1)[0].strip() if "=" in source else ""
    low = message.lower()
    if value in ("True", "False"):
        return _("TOML writes booleans in lower case: {value}", value=value.lower())
    if value in ("None", "null", "nil"):
        return _("TOML has no null: remove the line to use the default")
    if "overwrite" in low or "twice" in low or "duplicate" in low:
        return _("each key and each [table] may appear only once: remove or merge the repeated one")
    if source.lstrip().startswith("[") and not source.split("#", 1)[0].rstrip().endswith("]"):
        return _("close the table header with ]")
    if "=" in source and value == "":
        return _("give the key a value, or remove the line")
    if value and value[0] not in "\"'[{-+0123456789tfin":
        return _('put text in quotes: {key} = "{value}"', key=source.split("=", 1)[0].strip(), value=value)
    return _("fix the syntax on that line (strings need quotes, tables [name], one key = value per line)")


# A preset is a few kilobytes; the cap keeps a wrong path (a disk image, a log) from filling memory.
MAX_PRESET_BYTES = 32 << 20
# The fix for a special file named as the preset, by how its refusal (regular_file) begins: the
# refusal's own hint speaks of "the data".
_PRESET_HINTS = (
    ("is a named pipe", N_("a pipe blocks until something writes to it: save the preset to a file and name that file")),
    ("is a character device", N_("name a file that holds the preset (a device such as /dev/zero never ends)")),
    ("is a block device", N_("name a file that holds the preset")),
    ("is a socket", N_("name a file that holds the preset")),
)


def read_text(path: Path) -> str:
    """Read a preset file, turning every OS-level failure into a PresetError.

    Only a regular file is opened (a named pipe or a device would block or never end), and at
    most MAX_PRESET_BYTES of it. A UTF-8 byte-order mark, as some Windows editors write, is
    dropped; UTF-16 text is named as such.
    """
    from hftui.core.regular_file import Refused, read_capped

    path = Path(path)
    file = str(path)

    def fail(message: str, hint: str) -> PresetError:
        return PresetError([Problem("", "error", message, hint, None, file)], file)

    try:
        raw, more = read_capped(path, MAX_PRESET_BYTES)
    except Refused as exc:
        if exc.reason.startswith("does not exist"):
            raise fail(_("no such file"), _("check the path; presets shipped with hftui are in presets/ (e.g. presets/quickstart.toml)")) from None
        if exc.reason.startswith("is a folder"):
            raise fail(_("is a directory, not a preset file"), _("pass the .toml file inside it")) from None
        if "permission denied" in exc.reason:
            raise fail(_("permission denied reading the preset"), _("make the file readable (chmod u+r)")) from None
        hint = next((h for start, h in _PRESET_HINTS if exc.reason.startswith(start)), None)
        raise fail(exc.text, _(hint) if hint else exc.hint or _("pass a .toml preset file")) from None
    if more:
        raise fail(_("is larger than {size} MB: not a preset", size=MAX_PRESET_BYTES >> 20), _("pass the .toml preset file (presets are a few kilobytes)"))
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or looks_utf16(raw):
        raise fail(_("is UTF-16 text, not UTF-8"), _("save the preset as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8 old.toml > new.toml)"))
    if b"\x00" in raw[:8192]:
        raise fail(_("is a binary file, not a TOML preset"), _("pass a .toml text file (presets shipped with hftui are in presets/)"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PresetError([Problem("", "error", _("not UTF-8 text (line {line}, byte {byte})", line=line, byte=exc.start),
                                   _("save the preset as UTF-8"), line, file)], file) from None
    return text.removeprefix("\ufeff")


def looks_utf16(raw: bytes) -> bool:
    """UTF-16 without a byte-order mark: ASCII text with a NUL byte beside every character."""
    head = raw[:512]
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    return (odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even)) or (even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd))
