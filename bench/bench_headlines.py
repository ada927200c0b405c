"""Headline benchmark: short items with many hits each (standalone; prints figures).

The ruleset is the one ``bench_rules.py`` builds (10,000 jieba dictionary words, 500
rules in 10 files, the same seed). Items are headline-like: a ~30-character title and a
~200-character body, built so that about 15 rules match per item (the measured average
is printed): for a handful of rules per item a subject and an event word are placed side
by side (so ``near`` conditions hold too), among common words and punctuation.

Measured in the same run, over the same raw texts:

- ``Ruleset.evaluate(title=..., body=...)`` with normalization included, reading
  ``score`` and ``level``;
- the same reading the matched rule ids too (``ev.matches``: what backtests need);
- the same plus ``to_dict()`` (every span of every match: what ``rules test --json``,
  storing matches and alerts need);
- a bare pyahocorasick ``iter()`` scan of the same raw texts (title and body, no
  normalization) with an automaton of the same 10,000 words.

The ratio evaluate / bare scan has a target of at least 0.5. Times are CPU time of this
process (``time.process_time``: other load on the machine does not count); within each
of ``--rounds`` rounds the measured functions take turns on chunks of 250 items, so all
see the same machine state. Throughputs are the best round; ratios the median over
rounds of the ratio within a round.

    .venv/bin/python bench/bench_headlines.py [--items 6000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ahocorasick

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rules import PUNCT, RULES, SEED, WORDS, dictionary, write_rules

from monitor.normalize import normalize
from monitor.rules import Ruleset, load_ruleset

TITLE_CHARS = 30
BODY_CHARS = 200
BODY_PAIRS = (13, 14)   # rules whose subject and event words are planted in one body
TARGET = 0.5


def plant(rule_words: list[list[str]], filler: list[str], size: int, pairs: int,
          rng: random.Random) -> str:
    """About ``size`` characters of filler with ``pairs`` subject+event pairs planted."""
    pieces: list[str] = []
    for _ in range(pairs):
        words = rule_words[rng.randrange(len(rule_words))]
        pieces.append(rng.choice(words[:8]) + rng.choice(words[8:16]))
    length = sum(map(len, pieces))
    while length < size:
        w = rng.choice(filler)
        pieces.append(w)
        length += len(w)
        if rng.random() < 0.25:
            pieces.append(rng.choice(PUNCT))
            length += 1
    planted, rest = pieces[:pairs], pieces[pairs:]
    for p in planted:                       # scatter the pairs among the filler
        rest.insert(rng.randrange(len(rest) + 1), p)
    return "".join(rest)[: size + 4]


def make_items(count: int, words: list[str], filler: list[str],
               rng: random.Random) -> list[tuple[str, str]]:
    per_rule = WORDS // RULES
    rule_words = [words[r * per_rule:(r + 1) * per_rule] for r in range(RULES)]
    items = []
    for _ in range(count):
        title = plant(rule_words, filler, TITLE_CHARS, 1, rng)
        body = plant(rule_words, filler, BODY_CHARS, rng.choice(BODY_PAIRS), rng)
        items.append((title, body))
    return items


def bare_scan(auto: ahocorasick.Automaton, items: list[tuple[str, str]]) -> int:
    hits = 0
    for title, body in items:
        for _end, _val in auto.iter(title):
            hits += 1
        for _end, _val in auto.iter(body):
            hits += 1
    return hits


def evaluate_scores(rs: Ruleset, items: list[tuple[str, str]]) -> int:
    total = 0
    for title, body in items:
        ev = rs.evaluate(title=title, body=body)
        total += ev.score + len(ev.level or "")
    return total


def evaluate_rules(rs: Ruleset, items: list[tuple[str, str]]) -> int:
    total = 0
    for title, body in items:
        ev = rs.evaluate(title=title, body=body)
        total += ev.score + len([m.rule for m in ev.matches])
    return total


def evaluate_dicts(rs: Ruleset, items: list[tuple[str, str]]) -> int:
    total = 0
    for title, body in items:
        total += len(rs.evaluate(title=title, body=body).to_dict()["matches"])
    return total


def timed_rounds(rounds: int, items: list[tuple[str, str]],
                 funcs: dict[str, Callable[[list[tuple[str, str]]], object]],
                 chunk: int = 250) -> dict[str, list[float]]:
    """CPU seconds of each function over all items, per round. Within a round the
    functions take turns chunk by chunk, so that all of them see the same machine."""
    out: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(rounds):
        spent = dict.fromkeys(funcs, 0.0)
        for i in range(0, len(items), chunk):
            part = items[i:i + chunk]
            for name, fn in funcs.items():
                t0 = time.process_time()
                fn(part)
                spent[name] += time.process_time() - t0
        for name, secs in spent.items():
            out[name].append(secs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=6_000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(SEED)
    normalize("预热")                       # build the per-character tables once
    candidates, filler = dictionary()
    words = rng.sample(candidates, WORDS)
    with tempfile.TemporaryDirectory() as tmp:
        write_rules(Path(tmp), words, rng)
        ruleset = load_ruleset(tmp)
    ruleset.evaluate(body="预热")
    ruleset._matcher.boundaries.cuts("预热")  # the |word tokenizer (built once per ruleset)

    items = make_items(args.items, words, filler, random.Random(SEED + 1))
    chars = sum(len(t) + len(b) for t, b in items)
    matched = [len(ruleset.evaluate(title=t, body=b).matches) for t, b in items]
    avg = sum(matched) / len(items)
    print(f"ruleset: {len(ruleset)} rules, {ruleset.word_count} distinct words")
    print(f"headlines: {len(items)} items, title ~{TITLE_CHARS} + body ~{BODY_CHARS} chars "
          f"({chars / len(items):.0f} chars/item), {avg:.1f} matched rules per item on average "
          f"(min {min(matched)}, max {max(matched)})")

    auto = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for i, w in enumerate(words):
        auto.add_word(w, i)
    auto.make_automaton()
    hits = bare_scan(auto, items)
    runs = timed_rounds(args.rounds, items, {
        "bare": lambda part: bare_scan(auto, part),
        "eval": lambda part: evaluate_scores(ruleset, part),
        "rules": lambda part: evaluate_rules(ruleset, part),
        "dict": lambda part: evaluate_dicts(ruleset, part),
    })
    secs = {name: min(times) for name, times in runs.items()}

    def ratio_of(key: str) -> float:   # the median over rounds of bare / key
        return statistics.median(b / t for b, t in zip(runs["bare"], runs[key], strict=True))

    n = len(items)

    def rate(key: str) -> str:
        return f"{n / secs[key]:.0f} items/s, {chars / secs[key] / 1e6:.2f} M chars/s"

    print(f"bare pyahocorasick iter() over the raw title and body (no normalization): "
          f"{rate('bare')}, {hits / n:.1f} hits per item")
    print(f"evaluate() on the raw text, normalization included (score, level): {rate('eval')}")
    print(f"evaluate() + the matched rule ids (ev.matches): {rate('rules')}")
    print(f"evaluate() + to_dict() (every span of every match): {rate('dict')}")
    ratio = ratio_of("eval")
    mark = "" if ratio >= TARGET else "  未达标 / below target"
    print(f"ratio evaluate / bare scan (headlines, raw text, normalization included): "
          f"{ratio:.2f}× (target ≥ {TARGET}×){mark}")
    print(f"(ratio with the rule ids: {ratio_of('rules'):.2f}×; "
          f"with to_dict(): {ratio_of('dict'):.2f}×)")


if __name__ == "__main__":
    main()
