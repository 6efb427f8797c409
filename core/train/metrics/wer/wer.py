"""Word error rate from jiwer."""

import datasets
import evaluate

_DESCRIPTION = "Word error rate from jiwer."
_CITATION = ""
_KWARGS_DESCRIPTION = "predictions, references: strings."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Wer(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
        )

    def _compute(self, predictions, references):
        import jiwer

        return {"wer": float(jiwer.wer(list(references), list(predictions)))}
