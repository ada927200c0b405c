"""Console pages: rules. Everyone who may read sees the rule files of the rules directory
and their rules, tries a title and body against them (score, level, the hits marked) and
reads the ruleset's version history with its diffs; admins edit and add rule files.

An edit is checked as the whole directory with the edited file in place of the one on
disk (loaded from memory: the directory is never touched), examples included, and
reported as ``file:line: message``; a valid edit can be backtested over the stored items
of the last :data:`BACKTEST_DAYS` days against the rules on disk. Saving checks again,
refuses a broken file (the old one stays as it was) and writes atomically; the daemon
reloads changed rule files by itself. File names in URLs are confined to the rules
directory: a plain ``*.yaml``/``*.yml`` name, no separators, no ``..``."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...durations import describe_duration
from ...errors import NotFoundError, RuleError, RuleProblem
from ...models import RulesetVersion
from ..context import blocking, context
from ..render import page
from ..security import require, user_of
from . import write_atomic

if TYPE_CHECKING:
    from ...backtest import Comparison
    from ...rules import Evaluation, Ruleset

FLASH = "rules_flash"
BACKTEST_DAYS = 30
SHOWN_ITEMS = 5                        # items listed per rule under new / lost matches
SUFFIXES = (".yaml", ".yml")           # as monitor.rules.loader.RULE_SUFFIXES
NEW_NAME = re.compile(r"^\d{2}-[\w-]+\.ya?ml$")
TEMPLATE = """# 每条规则以 “- id:” 开头；保存前会校验整个规则目录并运行示例。
- id: new-rule
  name: 新规则
  category: 未分类
  level: blue
  weight: 20
  words:
    事件: [关键词]
  examples:
    match: [出现关键词的句子]
"""


# ---- files of the rules directory ------------------------------------------------------

def _dir(request: Request) -> Path:
    return context(request).config.rules.dir


def rule_path(rules_dir: Path, name: str) -> Path:
    """The file ``name`` directly inside ``rules_dir``; :class:`NotFoundError` for any
    name that is not a plain rule-file name there (separators, ``..``, hidden files,
    other suffixes, a link that leads elsewhere)."""
    bad = (not name or any(c in name for c in "/\\\0") or name.startswith(".")
           or ".." in name or not name.endswith(SUFFIXES))
    path = rules_dir / name
    if bad or path.resolve().parent != rules_dir.resolve():
        raise NotFoundError(f"规则目录中没有名为“{name}”的规则文件")
    return path


def _existing(rules_dir: Path, name: str) -> Path:
    path = rule_path(rules_dir, name)
    if not path.is_file():
        raise NotFoundError(f"规则目录中没有名为“{name}”的规则文件")
    return path


def _unix(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_files(rules_dir: Path) -> dict[str, str]:
    """``{file name: text}`` of the directory's rule files, read as the loader reads them
    (UTF-8, line endings made ``\\n``); an unreadable file is a :class:`RuleError`."""
    problems: list[RuleProblem] = []
    files: dict[str, str] = {}
    try:
        paths = sorted(p for p in rules_dir.iterdir() if p.suffix in SUFFIXES and p.is_file())
    except OSError as e:
        raise RuleError(RuleProblem(str(rules_dir), 1, f"无法读取规则目录：{e.strerror}")
                        ) from None
    for p in paths:
        try:
            files[p.name] = _unix(p.read_bytes().decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError) as e:
            problems.append(RuleProblem(p.name, 1, f"无法读取规则文件：{e}"))
    if problems:
        raise RuleError(problems)
    return files


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---- checking --------------------------------------------------------------------------

def check(files: dict[str, str]) -> Ruleset:
    """The ruleset of ``files``, examples run; a :class:`RuleError` with every problem."""
    from ...rules import check_examples, load_ruleset_texts

    if not files:
        raise RuleError(RuleProblem("（规则目录）", 1, "目录中没有规则文件（*.yaml 或 *.yml）"))
    ruleset = load_ruleset_texts(files)
    problems = check_examples(ruleset)
    if problems:
        raise RuleError(problems)
    return ruleset


def _problems(files: dict[str, str]) -> list[RuleProblem]:
    try:
        check(files)
    except RuleError as e:
        return e.problems
    return []


@dataclass
class Verdict:
    """An edit checked: the ruleset it makes (when valid), every problem, and those that
    block saving (in the edited file, or new elsewhere: problems the other files had
    already do not hold an edit back, so two broken files can be fixed one by one)."""

    ruleset: Ruleset | None
    problems: list[RuleProblem] = field(default_factory=list)
    blocking: list[RuleProblem] = field(default_factory=list)


def judge(rules_dir: Path, name: str, text: str) -> Verdict:
    before = read_files(rules_dir)
    after = {**before, name: text}
    try:
        return Verdict(check(after))
    except RuleError as e:
        problems = e.problems
    old = {(p.file, p.message) for p in _problems(before) if p.file != name}
    return Verdict(None, problems,
                   [p for p in problems if p.file == name or (p.file, p.message) not in old])


def current_ruleset(rules_dir: Path) -> Ruleset | None:
    """The rules on disk, or None when there are none or they are broken."""
    from ...rules import load_ruleset_texts

    try:
        files = read_files(rules_dir)
        return load_ruleset_texts(files) if files else None
    except RuleError:
        return None


# ---- the list, the test page, the versions ---------------------------------------------

@dataclass
class RuleFile:
    name: str
    rules: list[Any] = field(default_factory=list)     # CompiledRule


def _listing(rules_dir: Path) -> tuple[list[RuleFile], list[RuleProblem]]:
    from ...rules import load_ruleset_texts

    try:
        files = read_files(rules_dir)
    except RuleError as e:
        return [], e.problems
    listed = {name: RuleFile(name) for name in files}
    try:
        ruleset = load_ruleset_texts(files) if files else None
    except RuleError as e:
        return list(listed.values()), e.problems
    for rule in ruleset.rules if ruleset else []:
        listed[rule.file].rules.append(rule)
    return list(listed.values()), []


@require("read")
async def rule_list(request: Request) -> Response:
    rules_dir = _dir(request)
    files, problems = await blocking(_listing, rules_dir)
    return page(request, "rules/list.html", title="规则", files=files, problems=problems,
                rules_dir=rules_dir, flash=request.session.pop(FLASH, None),
                count=sum(len(f.rules) for f in files))


@dataclass
class Tried:
    ev: Evaluation
    matches: list[dict[str, Any]]


def _try(rules_dir: Path, title: str, body: str) -> Tried:
    from ...rules import load_ruleset_texts

    files = read_files(rules_dir)
    if not files:
        raise RuleError(RuleProblem("（规则目录）", 1, "目录中没有规则文件（*.yaml 或 *.yml）"))
    ruleset = load_ruleset_texts(files)
    ev = ruleset.evaluate(title=title, body=body)
    matches = []
    for m in ev.matches:
        spans = {f: [(s.start, s.end) for s in m.spans if s.field == f] for f in ("title", "body")}
        matches.append({"m": m, "spans": spans,
                        "words": list(dict.fromkeys(s.text for s in m.spans))})
    return Tried(ev, matches)


@require("read")
async def test_form(request: Request) -> Response:
    title = body = ""
    tried: Tried | None = None
    problems: list[RuleProblem] = []
    if request.method == "POST":
        form = await request.form()
        title, body = _unix(str(form.get("title", ""))), _unix(str(form.get("body", "")))
        if title or body:
            try:
                tried = await blocking(_try, _dir(request), title, body)
            except RuleError as e:
                problems = e.problems
    return page(request, "rules/test.html", title="试用规则", text_title=title, body=body,
                tried=tried, problems=problems, asked=request.method == "POST")


def diff_lines(diff: str | None) -> list[tuple[str, str]]:
    """A unified diff as (css class, line): additions, removals, hunk heads, context."""
    out = []
    for line in (diff or "").splitlines():
        if line.startswith(("+++", "---")):
            css = "diff-file"
        elif line.startswith("+"):
            css = "diff-add"
        elif line.startswith("-"):
            css = "diff-del"
        elif line.startswith("@@"):
            css = "diff-hunk"
        else:
            css = ""
        out.append((css, line))
    return out


@require("read")
async def versions(request: Request) -> Response:
    rows: list[RulesetVersion] = await blocking(context(request).store.ruleset_versions)
    shown = [{"v": r, "diff": diff_lines(r.diff)} for r in rows]
    return page(request, "rules/versions.html", title="规则版本", rows=shown)


# ---- editing ---------------------------------------------------------------------------

@dataclass
class Backtest:
    days: int
    comparison: Comparison
    rows: list[dict[str, Any]]


def _backtest(request: Request, candidate: Ruleset) -> Backtest:
    from ...backtest import compare

    ctx = context(request)
    since = ctx.now() - timedelta(days=BACKTEST_DAYS)
    current = current_ruleset(_dir(request))
    result = compare(ctx.store, current, candidate, since=since)
    shown = sorted({i for ids in (*result.added.values(), *result.removed.values())
                    for i in ids[:SHOWN_ITEMS]})
    items = ctx.store.get_items(shown)
    names = {r.id: r.name for rs in (current, candidate) if rs is not None for r in rs.rules}
    rows = []
    for rule in result.rule_ids():
        added, removed = result.added.get(rule, []), result.removed.get(rule, [])
        rows.append({
            "rule": rule, "name": names.get(rule, rule), "gone": candidate.rule(rule) is None,
            "current": result.current.get(rule, 0), "candidate": result.candidate.get(rule, 0),
            "added": len(added), "removed": len(removed),
            "examples": [("+", items[i].title) for i in added[:SHOWN_ITEMS] if i in items]
            + [("−", items[i].title) for i in removed[:SHOWN_ITEMS] if i in items]})
    return Backtest(BACKTEST_DAYS, result, rows)


@dataclass
class Editing:
    name: str
    text: str
    base: str = ""                          # digest of the file as it was opened
    creating: bool = False
    errors: list[str] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)
    blocking: list[RuleProblem] = field(default_factory=list)
    checked: bool = False
    backtest: Backtest | None = None


def _edit_page(request: Request, e: Editing, status: int = 200) -> Response:
    title = "新建规则文件" if e.creating else f"修改规则文件：{e.name}"
    return page(request, "rules/edit.html", status=status, title=title, e=e,
                days=BACKTEST_DAYS)


def _editing(form: FormData, name: str, *, creating: bool) -> Editing:
    return Editing(name=name, text=_unix(str(form.get("text", ""))),
                   base=str(form.get("base", "")), creating=creating)


def _save(request: Request, e: Editing, path: Path) -> bool:
    """Write the file if the checked text may go in and nobody changed it meanwhile."""
    if e.creating and path.exists():
        e.errors.append(f"规则文件“{e.name}”已存在，请换一个名称或直接修改它")
        return False
    if not e.creating and (not path.is_file() or _digest(_unix(
            path.read_bytes().decode("utf-8-sig", "replace"))) != e.base):
        e.errors.append("保存前文件已被他人修改：请复制你的改动，重新打开文件后再改")
        return False
    write_atomic(path, e.text)
    ctx = context(request)
    ctx.store.log_event("rules.edited", e.name, actor=user_of(request).name, now=ctx.now(),
                        data={"file": e.name, "created": e.creating, "sha256": _digest(e.text),
                              "lines": e.text.count("\n")})
    return True


def _submit(request: Request, e: Editing, path: Path, action: str) -> bool:
    """Check (and backtest, or save) an edit; True when it was saved."""
    verdict = judge(_dir(request), e.name, e.text)
    e.checked, e.problems, e.blocking = True, verdict.problems, verdict.blocking
    if action == "save":
        if e.blocking:
            e.errors.append("有错误，未保存（原文件保持不变）")
            return False
        return _save(request, e, path)
    if verdict.ruleset is not None:
        e.backtest = _backtest(request, verdict.ruleset)
    return False


async def _handle(request: Request, e: Editing, path: Path) -> Response:
    action = str((await request.form()).get("action", "check"))
    if await blocking(_submit, request, e, path, action):
        every = describe_duration(context(request).config.rules.reload_interval)
        note = f"运行中的守护进程会在约 {every}内自动加载新规则，无需重启。"
        if e.problems:
            note = "其他规则文件仍有错误，修好之前守护进程继续使用原有规则。"
        request.session[FLASH] = f"已保存规则文件“{e.name}”。{note}"
        return RedirectResponse("/rules", 303)
    bad = bool(e.errors or (action == "save" and e.blocking) or e.problems)
    return _edit_page(request, e, status=400 if bad else 200)


@require("admin")
async def edit_form(request: Request) -> Response:
    name = request.path_params["file"]
    path = _existing(_dir(request), name)
    text = _unix(path.read_bytes().decode("utf-8-sig", "replace"))
    return _edit_page(request, Editing(name=name, text=text, base=_digest(text)))


@require("admin")
async def edit(request: Request) -> Response:
    name = request.path_params["file"]
    path = _existing(_dir(request), name)
    return await _handle(request, _editing(await request.form(), name, creating=False), path)


@require("admin")
async def new_form(request: Request) -> Response:
    return _edit_page(request, Editing(name="", text=TEMPLATE, creating=True))


def _new_name(name: str) -> str | None:
    """What is wrong with a new file's name, if anything."""
    if not NEW_NAME.match(name) or ".." in name:
        return ("文件名应写成 两位数字-名称.yaml，例如 40-环境扰民.yaml"
                "（名称只用汉字、字母、数字、- 和 _，不能含 / 或 ..）")
    return None


@require("admin")
async def new(request: Request) -> Response:
    form = await request.form()
    e = _editing(form, str(form.get("name", "")).strip(), creating=True)
    wrong = _new_name(e.name)
    if wrong is not None:
        e.errors.append(wrong)
        return _edit_page(request, e, status=400)
    return await _handle(request, e, rule_path(_dir(request), e.name))


routes = [
    Route("/rules", rule_list, methods=["GET"]),
    Route("/rules/test", test_form, methods=["GET", "POST"]),
    Route("/rules/versions", versions, methods=["GET"]),
    Route("/rules/new", new_form, methods=["GET"]),
    Route("/rules/new", new, methods=["POST"]),
    Route("/rules/{file}/edit", edit_form, methods=["GET"]),
    Route("/rules/{file}/edit", edit, methods=["POST"]),
]
