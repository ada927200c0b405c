"""The labelled texts the tone model learns from and is measured on.

The public sets are read where ``make train-tone`` is told they are (never copied into the
repository: they come with no licence), each checked against the SHA-256 the model card
names; the unit's own headlines ship with the package. Every text falls into train, dev
(for the temperature) or test by a hash of its text, so the splits are the same on every
machine and a text that two sets share falls on the same side in both.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ToneError

TONES = ("negative", "neutral", "positive")
NOT_NEGATIVE = frozenset({"neutral", "positive"})
HEADLINES = Path(__file__).with_name("headlines.tsv")


@dataclass(frozen=True)
class Dataset:
    name: str  # short name used in the model card's tables
    file: str
    sha256: str
    kind: str  # reviews, weibo, headlines
    test_share: float  # the part held out for the figures, never trained on


PUBLIC: tuple[Dataset, ...] = (
    Dataset("hotel", "ChnSentiCorp_htl_all.csv",
            "1d414b9c65caf3a836abdb4efded621968502ad3338e1a9d885ae131c86083f0", "reviews", 0.05),
    Dataset("waimai", "waimai_10k.csv",
            "b8b5c11c00b51578d35937fca56e03a126b45381f1ea4b22893237cb377a26fe", "reviews", 0.05),
    Dataset("shopping", "online_shopping_10_cats.zip",
            "6816ded66fde9d0927ecbd370b5e12d0174d1abac35192ec014ac2a0a8d25858", "reviews", 0.05),
    Dataset("weibo2018", "weibo2018_train.txt",
            "297697f372132ac3836762b12f3528b112f5e9cf87a590514ff8771fa0d0149e", "weibo", 0.2),
    Dataset("smp_usual", "smp2020_usual_eval_labeled.json",
            "f61d8dafd25ea3794b1b4fe64b6aa21d05f86636442f36fac966dd26605ff3f9", "weibo", 0.4),
    Dataset("smp_virus", "smp2020_virus_train.json",
            "bbc11bf83d64ffe1286f83de11c8c6203a9a1d451be9457017b434e9ab2fb31d", "weibo", 0.1),
    Dataset("smp_virus_eval", "smp2020_virus_eval_labeled.json",
            "f4e62d00a018712d9553e3ffbe364095587f1b9db6b58c5911f13368bb412b3b", "weibo", 0.1),
)
OWN = Dataset("headlines", "headlines.tsv", "", "headlines", 0.3)
DEV_SHARE = 0.1

_SMP = {"happy": "positive", "angry": "negative", "sad": "negative", "fear": "negative",
        "neutral": "neutral"}  # surprise is either: left out


@dataclass(frozen=True)
class Example:
    text: str
    tones: frozenset[str]  # the tones it may have: one, or {neutral, positive} for "not negative"
    source: str
    split: str  # train, dev or test

    @property
    def label(self) -> str | None:
        return next(iter(self.tones)) if len(self.tones) == 1 else None


def split_of(text: str, test_share: float) -> str:
    h = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2**64
    if h < test_share:
        return "test"
    if h < test_share + DEV_SHARE:
        return "dev"
    return "train"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rows(ds: Dataset, raw: bytes) -> Iterator[tuple[str, frozenset[str]]]:
    if ds.file.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            raw = zf.read(zf.namelist()[0])
    text = raw.decode("utf-8-sig")
    if ds.file.endswith(".csv") or ds.file.endswith(".zip"):
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            review = (row.get("review") or "").strip()
            if review:
                yield review, frozenset({"positive" if row["label"] == "1" else "negative"})
    elif ds.file.endswith(".txt"):
        for line in text.splitlines():
            parts = line.split(",", 2)
            if len(parts) == 3 and parts[1] in ("0", "1") and parts[2].strip():
                body = parts[2].replace("{%", "").replace("%}", "").strip()
                yield body, (frozenset({"negative"}) if parts[1] == "0" else NOT_NEGATIVE)
    else:
        for row in json.loads(text):
            tone = _SMP.get(row.get("label", ""))
            content = (row.get("content") or "").strip()
            if tone and content:
                yield content, frozenset({tone})


def load_public(data_dir: Path) -> tuple[list[Example], dict[str, str]]:
    """Every public example, and the checksum of each file read. Refuses a changed file."""
    examples: list[Example] = []
    sums: dict[str, str] = {}
    for ds in PUBLIC:
        path = data_dir / ds.file
        if not path.is_file():
            raise ToneError(f"找不到训练数据 {path}（请指明公开数据集所在目录：make train-tone TONE_DATA=目录，"
                            "或 yuqing tone train --data 目录）")
        raw = path.read_bytes()
        got = hashlib.sha256(raw).hexdigest()
        if got != ds.sha256:
            raise ToneError(f"训练数据 {path} 的校验和不符：应为 {ds.sha256}，实为 {got}")
        sums[ds.file] = got
        seen: set[str] = set()
        for text, tones in _rows(ds, raw):
            if text in seen:
                continue
            seen.add(text)
            examples.append(Example(text, tones, ds.name, split_of(text, ds.test_share)))
    return examples, sums


def read_labelled_tsv(path: Path, source: str, test_share: float = 0.0) -> list[Example]:
    """A labelled TSV: a header naming ``text`` and ``label`` columns (or two bare columns)."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise ToneError(f"无法读取 {path}：{exc.strerror or exc}") from exc
    if not lines:
        return []
    header = lines[0].split("\t")
    if "text" in header and "label" in header:
        ti, li, body = header.index("text"), header.index("label"), lines[1:]
        first = 2
    else:
        ti, li, body, first = 0, 1, lines, 1
    out: list[Example] = []
    for n, line in enumerate(body, start=first):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) <= max(ti, li):
            raise ToneError(f"{path}:{n}: 应有文本和标签两列，以制表符分隔")
        label = cells[li].strip()
        if label not in TONES:
            raise ToneError(f"{path}:{n}: 未知标签“{label}”，应为 negative、neutral 或 positive")
        text = cells[ti].strip()
        split = split_of(text, test_share) if test_share else "test"
        out.append(Example(text, frozenset({label}), source, split))
    return out


def load_headlines() -> list[Example]:
    """The unit-kind headlines and forum titles labelled by the project (shipped)."""
    return read_labelled_tsv(HEADLINES, OWN.name, OWN.test_share)
