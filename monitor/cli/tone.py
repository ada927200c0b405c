"""``yuqing tone ...``: the tone model in use, its retraining with the staff's corrections
(``tone train``) and its figures on a labelled file (``tone eval``); and the helpers that
show a tone's words (``倾向：负面（0.93）``; phrases are marked by ``render.highlight``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError, ToneError
from ..models import TONE_NAMES
from .app import Invocation, cli_actor, emit_json, main, open_store, pass_invocation
from .i18n import ChineseGroup
from .options import JSON_OPTION

if TYPE_CHECKING:
    from ..tone import ToneModel
    from ..tone.evaluate import Scores
    from ..tone.train import RetrainResult

def tone_words(label: str | None, negative: float | None) -> str:
    """``倾向：负面（0.93）`` (the ``negative`` probability), or ``倾向：未判定``."""
    if not label:
        return "倾向：未判定"
    prob = f"（负面概率 {negative:.2f}）" if negative is not None and label != "negative" \
        else (f"（{negative:.2f}）" if negative is not None else "")
    return f"倾向：{TONE_NAMES.get(label, label)}{prob}"


def model_for(state: Invocation) -> ToneModel | None:
    """The model the daemon would use (the config's file when it exists, else the
    bundled one); ``None`` when ``[tone] enabled = false``. Without a usable config file,
    the bundled model."""
    from ..score import ToneKeeper
    from ..tone import load_tone_model

    try:
        cfg = state.config
    except ConfigError:
        return load_tone_model()
    return ToneKeeper.from_config(cfg).refresh()


def _model_path(state: Invocation) -> Path:
    cfg = state.config
    return cfg.tone.model_path(cfg.storage)


@main.group(cls=ChineseGroup)
def tone() -> None:
    """倾向（正面/中性/负面）模型：查看、用工作人员的更正重新训练、在标注文件上评估。"""


@tone.command("show")
@JSON_OPTION
@pass_invocation
def tone_show(state: Invocation, as_json: bool) -> None:
    """正在使用的倾向模型：来源、版本和模型卡上的指标。示例：yuqing tone show"""
    model = model_for(state)
    if model is None:
        if as_json:
            emit_json({"enabled": False})
        else:
            click.echo("倾向判定已关闭（[tone] enabled = false）")
        return
    card = model.card
    if as_json:
        emit_json({"enabled": True, "version": model.version, "source": model.source,
                   "kind": card.get("kind"), "figures": card.get("figures", {})})
        return
    kind = "本单位重新训练的模型" if card.get("kind") == "retrained" else "内置模型"
    click.echo(f"倾向模型：{kind}，版本 {model.version}")
    click.echo(f"文件：{model.source}")
    for name, fig in (card.get("figures") or {}).items():
        click.echo(f"  {name}：宏平均 F1 {fig.get('macro_f1', 0):.3f}，"
                   f"准确率 {fig.get('accuracy', 0):.3f}（{fig.get('count', 0)} 条）")


def _table(result: RetrainResult) -> list[str]:
    lines = ["留出集                 条数   宏平均F1（原→新）    准确率（原→新）"]
    for name, before in result.before.items():
        after = result.after[name]
        lines.append(f"{name:<22} {before.count:>4}   {before.macro_f1:.3f} → {after.macro_f1:.3f}"
                     f"       {before.accuracy:.3f} → {after.accuracy:.3f}")
    return lines


def _scores_json(scores: dict[str, Scores]) -> dict[str, Any]:
    return {name: s.as_dict() for name, s in scores.items()}


@tone.command("train")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="公开标注数据目录（给出时也在其测试集上比较）")
@click.option("--held-out", "held_out", type=click.Path(dir_okay=False, path_type=Path),
              multiple=True, metavar="文件", help="另加的留出集：本单位标注的 TSV（text、label 两列），可重复")
@click.option("--dry-run", is_flag=True, help="只训练和比较，不换用新模型")
@JSON_OPTION
@pass_invocation
def tone_train(state: Invocation, data_dir: Path | None, held_out: tuple[Path, ...],
               dry_run: bool, as_json: bool) -> None:
    """用内置标注数据加上工作人员的倾向更正重新训练模型；在每个留出集上都不差于原模型时
    才换用（写入 [tone] model），否则拒绝并说明原因（退出码 1），守护进程继续用原模型。

    示例：yuqing tone train --held-out 本单位标注.tsv
    """
    from ..store.db import utcnow
    from ..tone.corpus import read_labelled_tsv
    from ..tone.train import retrain

    base = model_for(state)
    if base is None:
        raise ConfigError("倾向判定已关闭（[tone] enabled = false），无法重新训练",
                          hint="在配置的 [tone] 中设 enabled = true")
    extra = {f"{p.name}": read_labelled_tsv(p, "held-out") for p in held_out}
    target = _model_path(state)
    now = utcnow()
    with open_store(state) as store:
        corrections = [(c.text, c.tone) for c in store.tone_corrections(latest_only=True)]
    if not corrections:
        raise ToneError("还没有任何倾向更正，无需重新训练"
                        "（用 yuqing items tone ID 负面倾向 --by 姓名 记录更正）")
    result = retrain(base, corrections, now=now, data_dir=data_dir, held_out=extra)
    swapped = result.accepted and not dry_run
    if swapped:
        result.model.save(target)
    if not dry_run:
        with open_store(state, create=True) as store:
            data = {"base": base.version, "new": result.model.version, "reason": result.reason,
                    "corrections": result.corrections_used + result.corrections_held_out,
                    "before": {k: round(v.macro_f1, 4) for k, v in result.before.items()},
                    "after": {k: round(v.macro_f1, 4) for k, v in result.after.items()}}
            if swapped:
                store.log_event("tone.model_swapped", str(target), actor=cli_actor(None), now=now,
                                data=data)
            else:
                store.log_event("tone.retrain_refused", str(target), actor=cli_actor(None),
                                now=now,
                                data=data)
    if as_json:
        emit_json({"accepted": result.accepted, "swapped": swapped, "reason": result.reason,
                   "base": base.version, "version": result.model.version,
                   "path": str(target), "corrections_used": result.corrections_used,
                   "corrections_held_out": result.corrections_held_out,
                   "before": _scores_json(result.before), "after": _scores_json(result.after)})
    else:
        click.echo(f"重新训练：原模型 {base.version}，用了 {result.corrections_used} 条更正"
                   f"（另 {result.corrections_held_out} 条留作检验）")
        for line in _table(result):
            click.echo(line)
        if not result.accepted:
            click.echo(f"未换用新模型：{result.reason}；继续使用 {base.version}")
        elif dry_run:
            click.echo(f"新模型 {result.model.version} {result.reason}（--dry-run：未换用）")
        else:
            click.echo(f"已换用新模型 {result.model.version}（{result.reason}），写入 {target}；"
                       "守护进程在下一批评分前自动换用")
    if not result.accepted:
        sys.exit(1)


@tone.command("eval")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@JSON_OPTION
@pass_invocation
def tone_eval(state: Invocation, file: Path, as_json: bool) -> None:
    """在一个标注好的 TSV（text、label 两列）上评估正在使用的模型：每种倾向的精确率、
    召回率和 F1，以及混淆矩阵。示例：yuqing tone eval 本单位标注.tsv
    """
    from ..tone.corpus import read_labelled_tsv
    from ..tone.evaluate import render, score

    examples = read_labelled_tsv(file, "eval")
    if not examples:
        raise ToneError(f"{file}:1: 文件中没有标注的条目")
    model = model_for(state)
    if model is None:
        raise ConfigError("倾向判定已关闭（[tone] enabled = false）")
    predicted = [t.label for t in model.tone_many([e.text for e in examples])]
    scores = score([e.label or "" for e in examples], predicted)
    if as_json:
        emit_json({"model": model.version, "file": str(file)} | scores.as_dict())
        return
    click.echo(f"模型 {model.version}，文件 {file}")
    click.echo(render(scores))
