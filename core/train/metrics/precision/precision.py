"""Precision (scikit-learn precision_score); binary by default, set average for more classes."""

import datasets
import evaluate

_DESCRIPTION = "Precision (scikit-learn precision_score); binary by default, set average for more classes."
_CITATION = ""
_KWARGS_DESCRIPTION = "predictions, references: class ids; labels, pos_label, average, sample_weight, zero_division as in scikit-learn."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Precision(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}),
        )

    def _compute(self, predictions, references, labels=None, pos_label=1, average="binary", sample_weight=None, zero_division="warn"):
        from sklearn.metrics import precision_score

        score = precision_score(references, predictions, labels=labels, pos_label=pos_label, average=average, sample_weight=sample_weight, zero_division=zero_division)
        return {"precision": float(score) if getattr(score, "size", 1) == 1 else score.tolist()}
