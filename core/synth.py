"""Generated datasets for the shipped presets and the tests: small, deterministic, offline.

`python -m hftui.core.synth [FOLDER]` (re)writes them, by default into presets/data/. The same
seed always gives the same bytes, so the committed files can be checked against this code.

- reverse.jsonl / reverse_eval.jsonl: prompt "reverse: abc =>", completion " cba" (SFT on the
  completion only; the quickstart)
- chat.jsonl: chat `messages` asking for a word in capitals (SFT on chat data, LoRA)
- sentiment.jsonl / sentiment_eval.jsonl: short reviews labelled positive/negative
- preferences.jsonl: prompt, chosen (polite), rejected (rude), each answer after its prompt (reward model)
- answers.jsonl: prompt, then a polite (chosen) and a rude (rejected) answer alone (DPO)
- colors.jsonl: prompt "sky:", solution "blue" (GRPO with the exact_match/similarity rewards)
- prompts.jsonl: prompts for PPO
- summaries.jsonl: a review -> "the <thing> was good|bad" (seq2seq)
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

LETTERS = "abcdefghijklmnopqrstuvwxyz"
POSITIVE = ["great", "lovely", "wonderful", "excellent", "pleasant", "superb", "fine", "delightful", "brilliant", "charming"]
NEGATIVE = ["awful", "terrible", "boring", "dreadful", "poor", "horrible", "dull", "nasty", "weak", "annoying"]
THINGS = ["film", "meal", "book", "hotel", "concert", "game", "show", "trip", "album", "class"]
OPENERS = ["The", "This", "That", "Our", "My"]
VERBS = ["was", "felt", "seemed", "turned out"]
KIND = ["Thank you, that is very kind.", "Happy to help, have a nice day.", "Sure, here is a friendly answer.", "Of course, glad you asked."]
RUDE = ["Go away.", "Figure it out yourself.", "That is a stupid question.", "Not my problem."]
COLORS = [("sky", "blue"), ("grass", "green"), ("snow", "white"), ("coal", "black"), ("sun", "yellow"), ("blood", "red")]
PROMPTS = ["Can you help me?", "Please answer kindly:", "A question for you:", "Say something to a friend:", "Could you explain this?", "Reply to the customer:"]


def _word(rng: random.Random, lo: int = 3, hi: int = 7) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(rng.randint(lo, hi)))


def reverse_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        w = _word(rng)
        rows.append({"prompt": f"reverse: {w} =>", "completion": f" {w[::-1]}"})
    return rows


def chat_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        w = _word(rng)
        rows.append({"messages": [{"role": "user", "content": f"shout {w}"}, {"role": "assistant", "content": w.upper()}]})
    return rows


def sentiment_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        positive = rng.random() < 0.5
        adj = rng.choice(POSITIVE if positive else NEGATIVE)
        text = f"{rng.choice(OPENERS)} {rng.choice(THINGS)} {rng.choice(VERBS)} {adj}."
        rows.append({"text": text, "label": "positive" if positive else "negative"})
    return rows


def preference_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"prompt": p, "chosen": f"{p} {rng.choice(KIND)}", "rejected": f"{p} {rng.choice(RUDE)}"} for p in (rng.choice(PROMPTS) for _ in range(n))]


def answer_rows(n: int, seed: int) -> list[dict]:
    """A prompt and two answers to it: kind (chosen) and rude (rejected)."""
    rng = random.Random(seed)
    return [{"prompt": rng.choice(PROMPTS), "chosen": " " + rng.choice(KIND), "rejected": " " + rng.choice(RUDE)} for _ in range(n)]


def color_rows(n: int, seed: int) -> list[dict]:
    """What colour a thing is: a prompt and its one right answer."""
    rng = random.Random(seed)
    return [{"prompt": f"{thing}:", "solution": color} for thing, color in (rng.choice(COLORS) for _ in range(n))]


def prompt_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"prompt": rng.choice(PROMPTS)} for _ in range(n)]


def summary_rows(n: int, seed: int) -> list[dict]:
    """A review and its plain summary: what was reviewed, and whether it was good."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        positive = rng.random() < 0.5
        thing = rng.choice(THINGS)
        adj = rng.choice(POSITIVE if positive else NEGATIVE)
        text = f"{rng.choice(OPENERS)} {thing} {rng.choice(VERBS)} {adj}."
        rows.append({"text": text, "target": f"the {thing} was {'good' if positive else 'bad'}"})
    return rows


FILES = {
    "reverse.jsonl": lambda: reverse_rows(4000, 1),
    "reverse_eval.jsonl": lambda: reverse_rows(64, 2),
    "chat.jsonl": lambda: chat_rows(400, 3),
    "sentiment.jsonl": lambda: sentiment_rows(600, 4),
    "sentiment_eval.jsonl": lambda: sentiment_rows(100, 5),
    "preferences.jsonl": lambda: preference_rows(400, 6),
    "answers.jsonl": lambda: answer_rows(400, 9),
    "colors.jsonl": lambda: color_rows(300, 10),
    "prompts.jsonl": lambda: prompt_rows(200, 7),
    "summaries.jsonl": lambda: summary_rows(800, 8),
}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    from hftui.core.fsutil import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def generate(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in FILES.items():
        write_jsonl(folder / name, rows())
        written.append(folder / name)
    return written


def default_folder() -> Path:
    import hftui.presets

    return Path(hftui.presets.__file__).resolve().parent / "data"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else default_folder()
    for path in generate(folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
