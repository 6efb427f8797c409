"""ROC AUC (scikit-learn roc_auc_score) from prediction scores."""

import datasets
import evaluate

_DESCRIPTION = "ROC AUC (scikit-learn roc_auc_score) from prediction scores."
_CITATION = ""
_KWARGS_DESCRIPTION = "references: class ids; prediction_scores: the positive class score (binary) or one score per class (multiclass); average, multi_class as in scikit-learn."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RocAuc(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features({"prediction_scores": datasets.Value("float"), "references": datasets.Value("int32")}),
                datasets.Features({"prediction_scores": datasets.Sequence(datasets.Value("float")), "references": datasets.Value("int32")}),
            ],
        )

    def _compute(self, references, prediction_scores, average="macro", sample_weight=None, max_fpr=None, multi_class="raise", labels=None):
        from sklearn.metrics import roc_auc_score

        score = roc_auc_score(references, prediction_scores, average=average, sample_weight=sample_weight, max_fpr=max_fpr, multi_class=multi_class, labels=labels)
        return {"roc_auc": float(score) if getattr(score, "size", 1) == 1 else score.tolist()}
