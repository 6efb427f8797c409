"""The wizard's language: English, or Korean when HFTUI_LANG or LANG asks for it.

Help for each option comes from the option's own definition (`Field.help` / `Field.help_ko`);
this module only picks the language and holds the wizard's own short phrases.
"""

from __future__ import annotations

from hftui.core.i18n import is_korean, language, option_help  # noqa: F401  (re-exported for the wizard)
from hftui.core.options.steps import STEP_TITLES


def help_text(field) -> str:
    """The field's help in the wizard's language (English when no translation exists)."""
    if is_korean() and getattr(field, "help_ko", ""):
        return field.help_ko
    return option_help(field.name, field.help or "")


def step_title(step: str) -> str:
    en, ko = STEP_TITLES.get(step, (step.title(), step.title()))
    return ko if is_korean() else en


PHRASES: dict[str, tuple[str, str]] = {
    "default": ("default", "기본값"),
    "changed": ("changed from the default", "기본값에서 변경됨"),
    "advanced": ("Show every option of this step", "이 단계의 모든 옵션 보기"),
    "loading_catalog": ("Reading the options of the installed transformers/trl (first start only)…", "설치된 transformers/trl의 옵션을 읽는 중(처음 한 번만)…"),
    "back": ("Back", "뒤로"),
    "next": ("Next", "다음"),
    "save": ("Save", "저장"),
    "run": ("Run", "실행"),
    "search": ("Search options", "옵션 검색"),
    "no_problems": ("No problems found.", "문제가 없습니다."),
    "problems": ("Problems", "문제"),
    "changes": ("Changed from the defaults", "기본값에서 바뀐 옵션"),
    "memory": ("Memory estimate", "메모리 추정"),
    "launch": ("Launch command", "실행 명령"),
    "unsaved": ("There are unsaved changes. Quit without saving?", "저장하지 않은 변경이 있습니다. 저장하지 않고 종료할까요?"),
    "needs_network": ("needs the network", "네트워크 필요"),
    "quick_models": ("Well-known models for a quick experiment", "빠른 실험용으로 잘 알려진 모델"),
    "quick_datasets": ("Well-known datasets for a quick experiment", "빠른 실험용으로 잘 알려진 데이터셋"),
    "enable_peft": ("Train a LoRA adapter instead of every weight", "모든 가중치 대신 LoRA 어댑터만 학습"),
    "enable_model.scratch": ("Build a fresh model from a config (no download)", "설정으로 새 모델 만들기(다운로드 없음)"),
}


def t(key: str) -> str:
    en, ko = PHRASES.get(key, (key, key))
    return ko if is_korean() else en


def translate_bindings(node) -> None:
    """The footer's key descriptions and tooltips in the reader's language: call in a screen's or the app's
    `__init__`, after `super().__init__()`; descriptions are written in English with `N_()`."""
    import dataclasses

    from hftui.core.i18n import _

    for key, bindings in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [
            dataclasses.replace(b, description=_(b.description) if b.description else b.description,
                                tooltip=_(b.tooltip) if b.tooltip else b.tooltip)
            for b in bindings
        ]
