"""Secrets never belong in a preset (presets are shared and copied into run folders): keys named
like credentials, and values that look like a Hugging Face token or a W&B key, wherever they are."""

from __future__ import annotations

import tomllib
from typing import Any, Iterable

from hftui.core.preset import Preset

from hftui.core.checks.report import Report
from hftui.core.checks.values import HF_TOKEN, WANDB_KEY

# Keys whose value is a credential, wherever they appear.
SECRET_KEYS = {
    "hub_token", "push_to_hub_token", "hf_token", "token", "use_auth_token", "auth_token",
    "access_token", "api_key", "wandb_api_key", "wandb_key", "comet_api_key", "password", "secret",
}
_ENV_HINT = "remove it and export it in the environment instead (HF_TOKEN for the Hub, WANDB_API_KEY for W&B)"


def check_secrets(rep: Report, preset: Preset) -> None:
    found = list(_walk(preset.data))
    dropped = {p.path for p in preset.notices}
    if dropped and preset.source_text:
        try:  # keys migration dropped (push_to_hub_token, ...) are still written in the file
            found += [(path, value) for path, value in _walk(tomllib.loads(preset.source_text)) if path in dropped]
        except tomllib.TOMLDecodeError:
            pass
    for path, value in found:
        leaf = path.rpartition(".")[2].lower()
        is_secret_key = leaf in SECRET_KEYS or leaf.endswith(("_api_key", "_password", "_secret"))
        if is_secret_key and isinstance(value, str) and value.strip():
            rep.error(path, f"{leaf} is a secret and must not be written in a preset (presets are shared and copied into run folders)", _ENV_HINT)
        elif isinstance(value, str) and (HF_TOKEN.search(value) or (WANDB_KEY.match(value.strip()) and not any(w in leaf for w in ("revision", "commit", "sha", "hash")))):
            rep.error(path, "this value looks like an access token (Hugging Face or W&B key); a preset must not hold secrets", _ENV_HINT)


def _walk(node: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v, prefix)
    else:
        yield prefix, node
