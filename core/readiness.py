"""What breaks a first run on a fresh GPU box before training starts: the Hub out of reach (or
switched off), no token for gated models, a nearly full disk under the Hugging Face cache or
the output folder. Plain facts for `hftui doctor`.

The Hub probe is an argument, so tests never touch the network; HF_HUB_OFFLINE skips it, as
the Hugging Face libraries themselves do. A token is reported by where it comes from, never by
its value.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from hftui.core.i18n import N_, _

HUB_TIMEOUT_S = 3.0
# Less than this free and a first real run stalls: a 7B model in bf16 is 13.5 GiB in the cache,
# and each full checkpoint of it (weights and optimizer state) several times that.
LOW_DISK_BYTES = 20 << 30
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def _truthy(value: str | None) -> bool:
    # huggingface_hub's reading of a boolean variable
    return (value or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def offline_variable() -> str | None:
    """The variable that switches the Hub off here, if one does."""
    return next((name for name in OFFLINE_VARIABLES if _truthy(os.environ.get(name))), None)


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def probe_hub(url: str, timeout: float = HUB_TIMEOUT_S) -> str | None:
    """None when `url` answers at all (any HTTP status), else why not in a few words."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # an answer, even an error status, means the network gets there
    except Exception as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"{type(reason).__name__}: {reason}"[:200]


def hub_facts(probe: Callable[[str], str | None] = probe_hub) -> dict:
    endpoint = hub_endpoint()
    offline = offline_variable()
    if offline:
        return {"endpoint": endpoint, "offline": offline, "reachable": None, "error": None}
    error = probe(f"{endpoint}/api/models?limit=1")
    return {"endpoint": endpoint, "offline": None, "reachable": error is None, "error": error}


def hf_home() -> Path:
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "huggingface"


def token_source() -> str | None:
    """Where the Hub token comes from (a variable's name or the token file), never its value."""
    for name in TOKEN_VARIABLES:
        if os.environ.get(name, "").strip():
            return name
    path = Path(os.environ.get("HF_TOKEN_PATH") or hf_home() / "token").expanduser()
    try:
        if path.is_file() and path.stat().st_size > 0:
            return f"token file {path}"
    except OSError:
        pass
    return None


def disk_facts(what: str, folder: Path) -> dict:
    """Free space on the disk that holds (or will hold) `folder`."""
    probe = Path(folder).expanduser().absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError as exc:
        return {"what": what, "path": str(folder), "free": None, "total": None, "low": None, "error": str(exc)}
    low = usage.total > 0 and usage.free < LOW_DISK_BYTES
    return {"what": what, "path": str(Path(folder).expanduser().absolute()), "free": usage.free, "total": usage.total, "low": low, "error": None}


def collect(output_dir: Path | str = ".", hub_probe: Callable[[str], str | None] = probe_hub) -> dict:
    return {
        "hub": hub_facts(hub_probe),
        "token": token_source(),
        "disks": [disk_facts(N_("HF_HOME (the model and dataset cache)"), hf_home()), disk_facts(N_("output folder"), Path(output_dir))],
    }


def summary(facts: dict) -> list[str]:
    """The sentences that matter before a first run, problems only."""
    lines = []
    hub = facts["hub"]
    if hub["offline"]:
        lines.append(_("{variable} is set: Hub ids cannot download; local folders and [model.scratch] work.", variable=hub["offline"]))
    elif not hub["reachable"]:
        lines.append(_("The Hub ({endpoint}) is out of reach ({error}): Hub ids will not download; "
                       "check the network or a proxy (HTTPS_PROXY), or set HF_HUB_OFFLINE=1 and use local models.",
                       endpoint=hub["endpoint"], error=hub["error"]))
    if not facts["token"]:
        lines.append(_("No Hugging Face token: gated models (Llama, Gemma, ...) and pushing to the Hub need one "
                       "(export HF_TOKEN=... or `hf auth login`)."))
    for disk in facts["disks"]:
        if disk["low"]:
            lines.append(_("Little free disk for the {what} at {path}: {free:.1f} GiB "
                           "(a 7B model and one checkpoint need about {need} GiB).",
                           what=_(disk["what"]), path=disk["path"], free=disk["free"] / (1 << 30), need=LOW_DISK_BYTES >> 30))
    return lines
