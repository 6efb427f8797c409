"""Short curated lists of well-known models and datasets for a first experiment.

Each pick needs the network (they live on the Hugging Face Hub); choosing one fills the
preset keys it implies, which a person can still change afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message
from textual.widgets import Select

from hftui.core.i18n import N_, _
from hftui.tui.i18n import t


@dataclass(frozen=True)
class Pick:
    label: str
    values: dict
    remove: tuple = ()
    note: str = ""


MODELS: tuple[Pick, ...] = (
    Pick(N_("SmolLM2-135M · causal LM for SFT"), {"model.name_or_path": "HuggingFaceTB/SmolLM2-135M", "model.task": "causal-lm"}, ("model.scratch",)),
    Pick(N_("SmolLM2-135M-Instruct · chat SFT"), {"model.name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct", "model.task": "causal-lm"}, ("model.scratch",)),
    Pick(N_("Qwen2.5-0.5B · causal LM for SFT"), {"model.name_or_path": "Qwen/Qwen2.5-0.5B", "model.task": "causal-lm"}, ("model.scratch",)),
    Pick(N_("gpt2 · 124M causal LM"), {"model.name_or_path": "openai-community/gpt2", "model.task": "causal-lm"}, ("model.scratch",)),
    Pick(N_("DistilBERT · encoder for classification"), {"model.name_or_path": "distilbert/distilbert-base-uncased", "model.task": "sequence-classification"}, ("model.scratch",)),
    Pick(N_("RoBERTa-base · encoder for classification"), {"model.name_or_path": "FacebookAI/roberta-base", "model.task": "sequence-classification"}, ("model.scratch",)),
    Pick(N_("T5-small · seq2seq"), {"model.name_or_path": "google-t5/t5-small", "model.task": "seq2seq-lm"}, ("model.scratch",)),
)

DATASETS: tuple[Pick, ...] = (
    Pick(N_("IMDB · text + label, classification"), {"dataset.path": "stanfordnlp/imdb", "dataset.text_column": "text", "dataset.label_column": "label", "dataset.eval_split": "test"}, ("dataset.data_files", "dataset.name")),
    Pick(N_("GLUE SST-2 · sentence + label"), {"dataset.path": "nyu-mll/glue", "dataset.name": "sst2", "dataset.text_column": "sentence", "dataset.label_column": "label", "dataset.eval_split": "validation"}, ("dataset.data_files",)),
    Pick(N_("TinyStories · plain text for causal LM"), {"dataset.path": "roneneldan/TinyStories", "dataset.text_column": "text", "dataset.eval_split": "validation"}, ("dataset.data_files", "dataset.name")),
    Pick(N_("Capybara · chat messages for SFT"), {"dataset.path": "trl-lib/Capybara", "dataset.messages_column": "messages", "dataset.eval_split": "test"}, ("dataset.data_files", "dataset.name")),
    Pick(N_("UltraFeedback binarized · chosen/rejected pairs"), {"dataset.path": "trl-lib/ultrafeedback_binarized", "dataset.chosen_column": "chosen", "dataset.rejected_column": "rejected", "dataset.eval_split": "test"}, ("dataset.data_files", "dataset.name")),
    Pick(N_("TL;DR · prompts for PPO"), {"dataset.path": "trl-lib/tldr", "dataset.prompt_column": "prompt", "dataset.eval_split": "validation"}, ("dataset.data_files", "dataset.name")),
)


class QuickPicks(Select):
    """A Select of curated picks; choosing one posts QuickPicks.Picked."""

    @dataclass
    class Picked(Message):
        pick: Pick = field(default=None)  # type: ignore[assignment]

    def __init__(self, kind: str, *, id: str | None = None) -> None:
        self.picks = MODELS if kind == "models" else DATASETS
        prompt = t("quick_models" if kind == "models" else "quick_datasets") + f" ({t('needs_network')})"
        super().__init__([(f"{_(p.label)} (⇣ {t('needs_network')})", i) for i, p in enumerate(self.picks)], prompt=prompt, id=id, compact=True)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select is not self:
            return
        event.stop()
        if event.value is Select.NULL:
            return
        self.post_message(self.Picked(self.picks[int(event.value)]))
