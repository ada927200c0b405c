"""Rules: load and validate rule files, compile every word into one Aho-Corasick
automaton, evaluate conditions, score, explain.

    from monitor.rules import load_ruleset
    rs = load_ruleset("rules/")             # raises monitor.errors.RuleError (FILE:LINE)
    ev = rs.evaluate(title="...", body="...")
    ev.score, ev.level, ev.matches, ev.to_dict()
"""

from monitor.rules.compiled import CompiledRule, Example, Group
from monitor.rules.loader import check_examples, load_ruleset, load_ruleset_texts
from monitor.rules.ruleset import Ruleset
from monitor.rules.scoring import Evaluation, RuleMatch, Span

__all__ = [
    "CompiledRule",
    "Evaluation",
    "Example",
    "Group",
    "RuleMatch",
    "Ruleset",
    "Span",
    "check_examples",
    "load_ruleset",
    "load_ruleset_texts",
]
