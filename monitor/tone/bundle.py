"""``make train-tone``: rebuild the bundled model and its card from the labelled data.

    python -m monitor.tone.bundle --data ../shared/data/tone

Writes ``monitor/tone/model.npz`` and ``monitor/tone/MODEL.md`` and prints the figures.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError
from monitor.tone import card as cardmod
from monitor.tone import corpus
from monitor.tone.model import bundled_path
from monitor.tone.train import build

HERE = Path(__file__).parent

GOALS = (
    ("weibo2018", "negative_vs_rest", 0.88, "人工标注微博，负面/非负面准确率"),
    ("smp_usual", "macro_f1", 0.75, "通用微博三类宏平均 F1"),
    ("smp_usual", "negative_precision", 0.85, "通用微博负面精确率"),
    ("smp_usual", "negative_recall", 0.85, "通用微博负面召回率"),
    ("headlines", "macro_f1", 0.70, "自标标题三类宏平均 F1"),
)


def figure(fig: dict[str, dict[str, Any]], source: str, what: str) -> float:
    s = fig[source]
    if what.startswith("negative_") and what != "negative_vs_rest":
        return float(s["per_tone"]["negative"][what.removeprefix("negative_")])
    return float(s[what])


def labelling_stats() -> dict[str, object]:
    rows = [line.split("\t") for line in
            corpus.HEADLINES.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    n = len(rows)
    disagree = sum(1 for r in rows if r[3] != r[4])
    first, second = Counter(r[3] for r in rows), Counter(r[4] for r in rows)
    po = 1 - disagree / n
    pe = sum(first[t] / n * second[t] / n for t in ("negative", "neutral", "positive"))
    final = Counter(r[5] for r in rows)
    return {"total": n, "demo": sum(1 for r in rows if r[2] == "demo"), "disagree": disagree,
            "agree_pct": f"{po:.1%}", "kappa": f"{(po - pe) / (1 - pe):.3f}",
            "negative": final["negative"], "neutral": final["neutral"],
            "positive": final["positive"]}


def goal_lines(card: dict[str, Any]) -> dict[str, str]:
    """Each goal of the issue, the figure reached and whether it is met."""
    goals = {}
    for source, what, goal, words in GOALS:
        got = figure(card["figures"], source, what)
        goals[words] = f"目标 ≥ {goal:.2f}，实得 {got:.3f}（{'达到' if got >= goal else '未达到'}）"
    return goals


def card_text(card: dict[str, Any]) -> str:
    """MODEL.md for a model's card (the same from a fresh build or from the shipped file)."""
    return cardmod.render(card, goals=goal_lines(card), labelling=labelling_stats())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="重建随包发布的情感倾向模型及其模型卡")
    parser.add_argument("--data", type=Path, required=True, help="公开数据集所在目录")
    parser.add_argument("--out", type=Path, default=bundled_path())
    parser.add_argument("--card", type=Path, default=HERE / "MODEL.md")
    args = parser.parse_args(argv)
    try:
        model, card = build(args.data, progress=lambda m: print(m, flush=True))
    except MonitorError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    model.save(args.out)
    goals = goal_lines(card)
    args.card.write_text(card_text(card), encoding="utf-8")
    for words, line in goals.items():
        print(f"{words}：{line}")
    print(f"已写出 {args.out}（版本 {card['version']}）与 {args.card}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
