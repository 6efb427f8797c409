"""Reward functions shipped with hftui, chosen by name in `[grpo] reward_functions`.

Each follows TRL's reward-function contract: called with the batch's prompts and completions
(plain strings, or chat message lists) and every other dataset column by name, it returns one
float per completion. TRL logs each one's mean as `rewards/<name>/mean`.

The functions are self-contained on purpose: `export.export_python` copies their source into the
exported script, so the script scores exactly as the worker does, without hftui.
"""

from __future__ import annotations


def completion_text(completion):
    """The text of a completion: itself, or the content of a chat completion's last message."""
    if isinstance(completion, list):
        return str(completion[-1].get("content", "")) if completion else ""
    return str(completion)


def exact_match(completions, solution, **kwargs):
    """1.0 where the answer, stripped, is the row's solution; else 0.0."""
    return [1.0 if completion_text(c).strip() == str(s).strip() else 0.0 for c, s in zip(completions, solution)]


def similarity(completions, solution, **kwargs):
    """How close the answer is to the row's solution, 0.0 to 1.0 (difflib's ratio): a reward
    that rises step by step on the way to an exact match."""
    import difflib

    return [difflib.SequenceMatcher(None, completion_text(c).strip(), str(s).strip()).ratio() for c, s in zip(completions, solution)]


def letters(completions, **kwargs):
    """The share of the answer that is ASCII letters and spaces: a format reward."""
    out = []
    for c in completions:
        text = completion_text(c)
        out.append(sum(ch.isascii() and (ch.isalpha() or ch == " ") for ch in text) / len(text) if text else 0.0)
    return out


def short(completions, **kwargs):
    """1.0 for an empty answer, falling to 0.0 at 64 characters and beyond: a length reward."""
    return [max(0.0, 1.0 - len(completion_text(c)) / 64.0) for c in completions]


# name -> function; the names `[grpo] reward_functions` accepts.
REWARD_FUNCTIONS = {fn.__name__: fn for fn in (exact_match, similarity, letters, short)}
# The functions that read the row's solution (the column `[grpo] solution_column` names).
NEEDS_SOLUTION = ("exact_match", "similarity")
