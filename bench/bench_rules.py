"""Rule-engine benchmark (standalone; prints figures, asserts nothing).

Builds a 10,000-word ruleset (words drawn from jieba's dictionary with a fixed seed,
500 rules in 10 files, conditions mixing and/or/not/near/quoted literals, a few |word
groups) and about 5 M characters of Chinese text (dictionary words and punctuation, with
rule words sprinkled in), split into items of a title and a ~2,000-character body.

Prints: compile time and memory added; normalization speed; evaluation speed on
pre-normalized text; the speed of a bare pyahocorasick ``iter()`` scan of the same
normalized text with the same 10,000 words, and the ratio of the two.

    .venv/bin/python bench/bench_rules.py [--chars 5000000]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import ahocorasick
import jieba

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.normalize import is_cjk, normalize
from monitor.rules import load_ruleset
from monitor.rules.matcher import _units

RULES = 500
WORDS = 10_000
FILES = 10
SEED = 20240601
PUNCT = "，，，。。、；：“”！？（）\n"
CONDITIONS = [
    "主体 and 事件 and not 排除",
    "主体 near/20 事件 and not 排除",
    "(主体 or 事件) and not 排除",
    "主体 and (事件 or \"{lit}\") and not 排除",
    "事件 near/8 主体 or 排除 and 主体",
    "主体 or 事件 and not 排除",
]


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def dictionary() -> tuple[list[str], list[str]]:
    """(candidate rule words, common words for filler text), all simplified Chinese."""
    path = Path(jieba.__file__).with_name("dict.txt")
    rule_words, filler = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        word, freq, _tag = line.split(" ")
        if not all(is_cjk(c) for c in word) or normalize(word).text != word:
            continue
        if 2 <= len(word) <= 4:
            rule_words.append(word)
        if int(freq) >= 200:
            filler.append(word)
    return list(dict.fromkeys(rule_words)), filler


def write_rules(directory: Path, words: list[str], rng: random.Random) -> None:
    per_rule = WORDS // RULES
    for f in range(FILES):
        out = []
        for r in range(f * RULES // FILES, (f + 1) * RULES // FILES):
            chunk = words[r * per_rule:(r + 1) * per_rule]
            subject, event, exclude = chunk[:8], chunk[8:16], chunk[16:]
            cond = CONDITIONS[r % len(CONDITIONS)].format(lit=exclude[-1])
            subject_key = "主体|word" if r % 25 == 0 else "主体"
            out.append(
                f"- id: r{r:04d}\n  name: 规则{r}\n  category: 类别{r % 9}\n"
                f"  level: {['info', 'blue', 'yellow', 'orange', 'red'][r % 5]}\n"
                f"  weight: {rng.randint(5, 60)}\n  words:\n"
                f"    {subject_key}: [{', '.join(subject)}]\n"
                f"    事件: [{', '.join(event)}]\n    排除: [{', '.join(exclude)}]\n"
                f"  condition: '{cond}'\n")
        (directory / f"{f:02d}-bench.yaml").write_text("".join(out), encoding="utf-8")


def make_items(total: int, filler: list[str], rule_words: list[str],
               rng: random.Random) -> list[tuple[str, str]]:
    items = []
    size = 0
    while size < total:
        parts: list[str] = []
        length = 0
        while length < 2000:
            w = rng.choice(rule_words) if rng.random() < 0.02 else rng.choice(filler)
            parts.append(w)
            length += len(w)
            if rng.random() < 0.2:
                parts.append(rng.choice(PUNCT))
                length += 1
        body = "".join(parts)
        title = "".join(rng.choice(filler) for _ in range(6))
        items.append((title, body))
        size += len(title) + len(body)
    return items


def bare_scan(auto: ahocorasick.Automaton, texts: list[tuple[str, str]]) -> tuple[float, int]:
    hits = 0
    t0 = time.perf_counter()
    for title, body in texts:
        for _end, _val in auto.iter(title):
            hits += 1
        for _end, _val in auto.iter(body):
            hits += 1
    return time.perf_counter() - t0, hits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chars", type=int, default=5_000_000)
    args = ap.parse_args()
    rng = random.Random(SEED)
    normalize("预热")                       # build the per-character tables once
    candidates, filler = dictionary()
    words = rng.sample(candidates, WORDS)
    with tempfile.TemporaryDirectory() as tmp:
        write_rules(Path(tmp), words, rng)
        gc.collect()
        rss0 = rss_kib()
        t0 = time.perf_counter()
        ruleset = load_ruleset(tmp)
        compile_s = time.perf_counter() - t0
        rss_delta = (rss_kib() - rss0) / 1024
        del ruleset
        gc.collect()
        tracemalloc.start()
        ruleset = load_ruleset(tmp)
        traced = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
    print(f"ruleset: {len(ruleset)} rules, {ruleset.word_count} distinct words")
    print(f"compile: {compile_s:.2f} s (target < 2 s); memory added: "
          f"RSS {rss_delta:.1f} MiB, tracemalloc {traced:.1f} MiB (target < 50 MB)")

    items = make_items(args.chars, filler, words, rng)
    chars = sum(len(t) + len(b) for t, b in items)
    t0 = time.perf_counter()
    normed = [(normalize(t), normalize(b)) for t, b in items]
    norm_s = time.perf_counter() - t0
    print(f"text: {len(items)} items, {chars / 1e6:.2f} M chars")
    print(f"normalize: {chars / norm_s / 1e6:.2f} M chars/s (target >= 2 M)")

    rss0 = rss_kib()
    t0 = time.perf_counter()
    ruleset._matcher.boundaries.cuts("预热")  # the |word tokenizer (built once per ruleset)
    print(f"jieba tokenizer for |word (per ruleset, built on first |word hit): "
          f"{time.perf_counter() - t0:.2f} s, RSS {(rss_kib() - rss0) / 1024:.0f} MiB")
    t0 = time.perf_counter()
    matched = 0
    for nt, nb in normed:
        matched += bool(ruleset.evaluate_normalized(nt, nb).matches)
    eval_s = time.perf_counter() - t0

    auto = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for i, w in enumerate(words):
        auto.add_word(w, i)
    auto.make_automaton()
    bare_s, hits = bare_scan(auto, [(nt.text, nb.text) for nt, nb in normed])
    units = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for i, w in enumerate(words):
        units.add_word(_units(w), i)
    units.make_automaton()
    units_s, _ = bare_scan(units, [(_units(nt.text), _units(nb.text)) for nt, nb in normed])
    print(f"evaluate (pre-normalized): {chars / eval_s / 1e6:.2f} M chars/s, "
          f"{len(items) / eval_s:.0f} items/s, {matched} items matched")
    print(f"bare pyahocorasick iter() over the text: {chars / bare_s / 1e6:.2f} M chars/s, "
          f"{hits} hits")
    print(f"ratio evaluate / bare scan: {bare_s / eval_s:.2f} (target >= 0.5)")
    print(f"(bare iter() over UTF-16 code units, as the matcher scans: "
          f"{chars / units_s / 1e6:.2f} M chars/s excluding encoding; "
          f"ratio {units_s / eval_s:.2f})")
    t0 = time.perf_counter()
    for t, b in items[:200]:
        ruleset.evaluate(t, b)
    full_s = time.perf_counter() - t0
    sample = sum(len(t) + len(b) for t, b in items[:200])
    print(f"evaluate incl. normalization: {sample / full_s / 1e6:.2f} M chars/s")


if __name__ == "__main__":
    main()
