"""The model card (``monitor/tone/MODEL.md``), written from the card the build records."""

from __future__ import annotations

from typing import Any

from monitor.models import TONE_NAMES, TONES
from monitor.tone import corpus

_WHAT = {
    "hotel": "携程酒店评论（ChnSentiCorp_htl_all）", "waimai": "外卖评论（waimai_10k）",
    "shopping": "电商评论 10 类（online_shopping_10_cats）",
    "weibo2018": "人工标注微博（weibo2018，负面 / 非负面）",
    "smp_usual": "通用微博（SMP2020-EWECT usual）", "smp_virus": "疫情微博（SMP2020-EWECT virus 训练集）",
    "smp_virus_eval": "疫情微博（SMP2020-EWECT virus 评测集）",
    "headlines": "本项目自标的标题与论坛帖题（headlines.tsv）",
}


def _ordered(names: dict[str, Any]) -> list[str]:
    """The data sets in the card's order (a model file keeps its card's keys sorted)."""
    order = [d.name for d in corpus.PUBLIC] + [corpus.OWN.name]
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))


def _f(v: float) -> str:
    return f"{v:.3f}"


def render(card: dict[str, Any], *, goals: dict[str, str], labelling: dict[str, object]) -> str:
    fig = card["figures"]
    lines = [
        "# 情感倾向模型卡（MODEL.md）",
        "",
        "本文件由 `make train-tone` 生成，请勿手改。模型文件：`monitor/tone/model.npz`，"
        f"版本 `{card['version']}`。",
        "",
        "## 模型",
        "",
        f"- 特征：字符 1-3 元组，次线性词频 × 平滑 idf，L2 归一化；词表 {card['features']:,} 项"
        f"（在至少 {card['recipe']['min_df']} 条训练文本中出现）。文本取前 600 字，"
        "英文字母转小写、全角转半角、数字统一为 0。",
        "- 分类器：三类（负面、中性、正面）多项逻辑回归，L-BFGS 拟合"
        f"（L2 系数 α = {card['recipe']['alpha']:g}，{card['iterations']} 次迭代），"
        "只用 numpy 与 scipy；weibo2018 的“非负面”标签按“中性或正面”集合标签训练。",
        f"- 校准：在开发集上拟合温度 T = {card['temperature']:.3f}；"
        f"开发集上负面概率的期望校准误差 ECE = {card['calibration']['ece']:.3f}，"
        f"Brier = {card['calibration']['brier']:.3f}。",
        "- 解释：每个字符元组对所判倾向的贡献（权重 × 特征值，减去它对其他倾向的平均拉力），"
        "取最强者在原文中的位置，相邻、重叠者合并为短语，再按 jieba 分词扩到整词、去掉两端标点（`t.spans`）。",
        "- 来源权重（各来源在训练信号中所占份额，与条数无关）："
        + "，".join(f"{k} {card['recipe']['mass'][k]:g}" for k in _ordered(card["recipe"]["mass"]))
        + "；倾向权重：" + "，".join(f"{TONE_NAMES[k]} {v:g}"
                                     for k, v in card["recipe"]["tone_weight"].items()) + "。",
        "",
        "## 数据",
        "",
        "公开数据集来自 `../shared/data/tone/`，原样读取并核对 SHA-256；**这些仓库均未声明许可证，"
        "按“未授予许可”对待：用它们训练本模型属研究用途，文本本身从不复制进本仓库。**"
        "本项目自己的标注数据（`monitor/tone/headlines.tsv`）随包发布。",
        "",
        "| 数据集 | 文件 | SHA-256 | 训练 | 开发 | 测试（留出） |",
        "|---|---|---|---|---|---|",
    ]
    files = {d.name: d.file for d in corpus.PUBLIC} | {"headlines": "headlines.tsv"}
    for name in _ordered(card["sizes"]):
        size = card["sizes"][name]
        f = files[name]
        lines.append(f"| {_WHAT.get(name, name)} | `{f}` | `{card['data'][f][:16]}…` | "
                     f"{size.get('train', 0)} | {size.get('dev', 0)} | {size.get('test', 0)} |")
    lines += [
        "",
        "划分：按文本 SHA-256 的前 8 字节落入测试、开发、训练三部分（测试份额见上表，开发 10%），"
        "在任何机器上都一样；同一文本出现在两个数据集里也落在同一侧。SMP2020 的 surprise 不用"
        "（可正可负），happy → 正面，angry/sad/fear → 负面，neutral → 中性。",
        "",
        "### 自标标题（中性新闻是难点）",
        "",
        f"共 {labelling['total']} 条：演示数据源的标题 {labelling['demo']} 条，其余为项目自写的"
        "政务新闻标题、通知公告、问政留言标题与本地微博式短帖。两遍独立标注（第二遍为盲标，"
        f"看不到第一遍的标签），{labelling['disagree']} 条不一致"
        f"（一致率 {labelling['agree_pct']}，Cohen κ = {labelling['kappa']}），"
        "按标注指南逐条裁定，两遍标签与裁定结果都保存在文件里。标注指南：`monitor/tone/LABELLING.md`。"
        + f"负面 {labelling['negative']}、中性 {labelling['neutral']}、正面 {labelling['positive']}。",
        "",
        "## 留出集上的成绩（从未用于训练）",
        "",
        "| 数据集 | 条数 | 准确率 | 负面/非负面准确率 | 宏平均 F1 | 负面精确率 | 负面召回率 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in _ordered(fig):
        s = fig[name]
        neg = s["per_tone"]["negative"]
        three = name in ("smp_usual", "smp_virus", "smp_virus_eval", "headlines")
        lines.append(
            f"| {_WHAT.get(name, name)} | {s['count']} | "
            f"{_f(s['accuracy']) if three else '—'} | {_f(s['negative_vs_rest'])} | "
            f"{_f(s['macro_f1']) if three else '—'} | {_f(neg['precision'])} | "
            f"{_f(neg['recall'])} |")
    lines += ["", "评论与 weibo2018 只有两类（正面 / 负面或非负面），不计三类指标。", "",
              "目标与结果：", ""]
    lines += [f"- {k}：{v}" for k, v in goals.items()]
    h = fig["headlines"]
    lines += ["", "自标标题测试集的混淆矩阵（行：标注，列：模型）：", "",
              "| | " + " | ".join(TONE_NAMES[t] for t in TONES) + " |", "|---|---|---|---|"]
    for t, row in zip(TONES, h["confusion"], strict=True):
        lines.append(f"| {TONE_NAMES[t]} | " + " | ".join(str(v) for v in row) + " |")
    lines += ["", "## 速度与资源", "",
              "随机器而变，不写进本卡：`make bench` 的 `bench_tone` 在同一次运行中测量加载时间、"
              "新增内存和 `tone_many` 每秒条数（单核），并与不做解释的裸向量化加矩阵乘法比较。"]
    lines += [
        "",
        "## 局限",
        "",
        "- 训练文本大多是评论和微博；政务新闻只靠几百条自标标题，遇到新的题材仍可能误判，"
        "请用 `yuqing items tone ID … --by 姓名` 纠正，`yuqing tone train` 会学进去。",
        "- 字符元组不懂否定和反讽（“不是不好”“真是太‘好’了”）。",
        "- 负面概率经温度校准，但校准基于开发集的来源构成；单位自己的数据分布不同，"
        "阈值（如规则里的 `min_negative`）请用 `yuqing tone eval` 在本单位数据上核对。",
        "",
        "重建：`make train-tone`（2 核机器上几分钟）；同样的数据与配方得到字节相同的模型文件"
        "（不抽随机数，文件里不记时间），本卡的全部数字随之重现。",
        "",
    ]
    return "\n".join(lines)
