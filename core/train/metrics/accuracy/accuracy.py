"""Accuracy: the share of predictions equal to the reference (scikit-learn accuracy_score)."""

import datasets
import evaluate

_DESCRIPTION = "Accuracy: the share of predictions equal to the reference (scikit-learn accuracy_score)."
_CITATION = ""
_KWARGS_DESCRIPTION = "predictions, references: class ids; normalize, sample_weight as in scikit-learn."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}),
        )

    def _compute(self, predictions, references, normalize=True, sample_weight=None):
        from sklearn.metrics import accuracy_score

        return {"accuracy": float(accuracy_score(references, predictions, normalize=normalize, sample_weight=sample_weight))}
