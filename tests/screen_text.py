"""What a person reads on a Textual screen, and the English sentences left in it."""

from __future__ import annotations

import re

# A word of running English: letters only, lower case after the first letter ("the", "Training",
# "found."). Option names (learning_rate), keys (args.max_steps), paths, numbers, acronyms (LoRA,
# DDP, GPU) and mixed-case names (SmolLM2) are not words here.
WORD = re.compile(r"^[(\"'«]?[A-Za-z][a-z]*[)\"'»]?[.,:;!?…]*$")
SENTENCE_WORDS = 3


def screen_text(app, skip: tuple[str, ...] = ()) -> str:
    """The rows of the app's current screen as they are drawn, less what the widgets named in
    `skip` (CSS selectors) draw — e.g. a training log, whose lines come from the libraries."""
    from textual.strip import Strip

    regions = [w.region for selector in skip for w in app.screen.query(selector) if w.display and w.region.area]
    rows = []
    for y, strip in enumerate(app.screen._compositor.render_strips(app.size)):
        for region in regions:
            if region.y <= y < region.bottom:
                strip = Strip.join([strip.crop(0, region.x), Strip.blank(region.width), strip.crop(region.right, app.size.width)])
        rows.append(strip.text)
    return "\n".join(rows)


def _is_sentence(words: list[str]) -> bool:
    """Not a list of option values ("none, tensorboard, wandb") nor a proper name ("Hugging Face
    Space"): those read the same in every language."""
    if len(words) < SENTENCE_WORDS:
        return False
    if all(w.endswith(",") for w in words[:-1]):
        return False
    return not all(w.lstrip("(\"'«")[:1].isupper() for w in words)


def english_sentences(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Runs of `SENTENCE_WORDS` or more English words in a row, each line on its own; `allowed`
    are phrases a person wrote (a preset's description) and are not ours to translate."""
    for phrase in allowed:
        text = text.replace(phrase, " ")
    found = []
    for line in text.splitlines():
        run: list[str] = []
        for token in line.replace("│", " ").split() + [""]:
            if token and WORD.match(token):
                run.append(token)
                continue
            if _is_sentence(run):
                found.append(" ".join(run))
            run = []
    return found
