"""Measuring a tone model: precision, recall and F1 per tone, the confusion matrix, and the
figures the model card and ``yuqing tone eval`` print. Pure functions over label lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.models import TONE_NAMES, TONES


@dataclass(frozen=True)
class PerTone:
    tone: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Scores:
    count: int
    accuracy: float
    macro_f1: float  # over the tones that occur in the gold labels or the predictions
    per_tone: tuple[PerTone, ...]
    confusion: tuple[tuple[int, ...], ...]  # rows: gold tone, columns: predicted, in TONES order
    negative_vs_rest: float  # accuracy of "negative or not"

    def tone(self, name: str) -> PerTone:
        return next(p for p in self.per_tone if p.tone == name)

    def as_dict(self) -> dict[str, object]:
        return {
            "count": self.count, "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "negative_vs_rest": round(self.negative_vs_rest, 4),
            "per_tone": {p.tone: {"precision": round(p.precision, 4),
                                  "recall": round(p.recall, 4), "f1": round(p.f1, 4),
                                  "support": p.support} for p in self.per_tone},
            "confusion": [list(r) for r in self.confusion],
        }


def score(gold: Sequence[str], predicted: Sequence[str]) -> Scores:
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    n = len(gold)
    index = {t: i for i, t in enumerate(TONES)}
    confusion = [[0] * len(TONES) for _ in TONES]
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g]][index[p]] += 1
    per: list[PerTone] = []
    for i, t in enumerate(TONES):
        tp = confusion[i][i]
        said = sum(row[i] for row in confusion)
        support = sum(confusion[i])
        precision = tp / said if said else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per.append(PerTone(t, precision, recall, f1, support))
    present = [p for p, t in zip(per, TONES, strict=True)
               if p.support or sum(row[index[t]] for row in confusion)]
    correct = sum(confusion[i][i] for i in range(len(TONES)))
    neg_right = sum(1 for g, p in zip(gold, predicted, strict=True)
                    if (g == "negative") == (p == "negative"))
    return Scores(
        count=n,
        accuracy=correct / n if n else 0.0,
        macro_f1=sum(p.f1 for p in present) / len(present) if present else 0.0,
        per_tone=tuple(per),
        confusion=tuple(tuple(r) for r in confusion),
        negative_vs_rest=neg_right / n if n else 0.0,
    )


def render(scores: Scores) -> str:
    """The Chinese table ``yuqing tone eval`` prints."""
    lines = [f"共 {scores.count} 条；准确率 {scores.accuracy:.3f}；宏平均 F1 {scores.macro_f1:.3f}；"
             f"负面/非负面准确率 {scores.negative_vs_rest:.3f}", "",
             "倾向    精确率  召回率  F1     条数"]
    for p in scores.per_tone:
        lines.append(f"{TONE_NAMES[p.tone]}    {p.precision:.3f}   {p.recall:.3f}   "
                     f"{p.f1:.3f}  {p.support}")
    lines += ["", "混淆矩阵（行：标注，列：模型）", "        " + "  ".join(
        f"{TONE_NAMES[t]:>4}" for t in TONES)]
    for t, row in zip(TONES, scores.confusion, strict=True):
        lines.append(f"{TONE_NAMES[t]:<6}" + "  ".join(f"{v:>6}" for v in row))
    return "\n".join(lines)
