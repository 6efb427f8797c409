"""Mean squared error (scikit-learn mean_squared_error)."""

import datasets
import evaluate

_DESCRIPTION = "Mean squared error (scikit-learn mean_squared_error)."
_CITATION = ""
_KWARGS_DESCRIPTION = "predictions, references: numbers."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Mse(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("float"), "references": datasets.Value("float")}),
        )

    def _compute(self, predictions, references, sample_weight=None):
        from sklearn.metrics import mean_squared_error

        return {"mse": float(mean_squared_error(references, predictions, sample_weight=sample_weight))}
