"""BLEU from sacrebleu (corpus_bleu), on a 0-100 scale."""

import datasets
import evaluate

_DESCRIPTION = "BLEU from sacrebleu (corpus_bleu), on a 0-100 scale."
_CITATION = ""
_KWARGS_DESCRIPTION = "predictions: strings; references: one list of reference strings per prediction."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Bleu(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Sequence(datasets.Value("string"))}),
        )

    def _compute(self, predictions, references, tokenize="13a", lowercase=False):
        import sacrebleu

        width = max((len(r) for r in references), default=1)
        if any(len(r) != width for r in references):
            raise ValueError("every prediction needs the same number of references")
        transposed = [[refs[i] for refs in references] for i in range(width)]
        result = sacrebleu.corpus_bleu(predictions, transposed, tokenize=tokenize, lowercase=lowercase)
        return {"bleu": float(result.score), "precisions": list(result.precisions), "brevity_penalty": float(result.bp), "sys_len": int(result.sys_len), "ref_len": int(result.ref_len)}
