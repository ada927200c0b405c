"""Clustering benchmark: the near-duplicate key on a stream of scored items (standalone;
prints figures, asserts nothing).

The stream is 10,000 synthetic scored items: stories (安全事故, 欠薪, 拆迁, 环境污染, 工程质量,
交通, 扰民, built from templates with invented places, roads, companies and projects, so
different stories share many words but not their names) and reposts of them, edited as
sites edit (punctuation, 突发！/【转载】 prefixes, site names, traditional characters,
full-width digits, HTML entities, sentences added or dropped, bodies cut or left out). Each
item goes through ``signature`` + ``bucket_keys`` + a candidate lookup by key + ``similarity``
against the candidates' items, then joins the best incident at or above the threshold or
opens a new one, whose keys are indexed. Before the stream, 1,000 and then 10,000 open
incidents of other stories (one to three items each) are loaded, so that the comparisons
per item show whether the work grows with the number of open incidents (it must not).

Phase 1 keeps the index in a dict. Phase 2 goes through the real ``Store`` (a SQLite file
in a temporary directory): ``incident_candidates`` for the lookup, ``create_incident`` and
``add_incident_item`` for the writes, so the figure includes the database.

Baselines measured in the same run, over the same texts: ``normalize()`` of title and body
plus jieba segmentation (``rjieba``) of both, the least any text-based key costs; and a
brute-force comparison of each item with every open incident's items (on a sample).
Accuracy against the generator's truth is printed too: items put into another story's
incident (false merges) and stories split over more than one incident.

    .venv/bin/python bench/bench_cluster.py [--items 10000] [--open 1000,10000] [--no-store]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import opencc
import rjieba

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.incidents.similarity import (  # noqa: E402
    DEFAULT_THRESHOLD,
    Signature,
    bucket_keys,
    signature,
    similarity,
)
from monitor.normalize import normalize  # noqa: E402
from monitor.store import Store  # noqa: E402

SEED = 8
Text = tuple[str, str]

# ---- the corpus ---------------------------------------------------------------------
SYLLABLES = ("青山翠江湾长白沙云溪桃源临滨金城东西南北安宁丰泰和平阳光明华兴盛永福康乐清水石门龙凤鹿鸣"
             "松柏梅兰竹菊春秋星月红向前胜利结友谊嘉禾瑞祥德义仁厚丹霞碧波玉泉银杏荷塘柳岸枫林杨槐榆桂"
             "香莲花芦苇双井三元四方五里六合七八九十黄岗紫荆岩蓝田绿洲铜陵锦绣文昌武崇尚怀远思时好成老"
             "国手头军心快经王书少气近强原美兵鱼州重声朝早面意电剑神热黑风信力足宽群眼火桥象古情周船毛"
             "吴久画轻空朱皮科洞岛短京诗世殿宫牛营界草单暖紧题油球功陈礼墙值势夏冷照易宋熟巴支微虎布唐"
             "甲楚广叶雨齐盐客细味步雪耳格器藕距斯汤弦精骨密烟商皇圆湘软纸梦辽旗志基丁钟腰箭襄角恩谷粮"
             "灯兄灵百郭胡宗衣笔瓦岭魔孔奖棣赵佛价歌尖卡雕羊雄尾灰袁施秦温创牙旅富音容严吉鲜钢")   # none that ends a suffix or starts a
# not-a-name word (全村, 该区): such names are not names to the key either
PLACE_SUFFIX = ("区", "县", "镇", "街道", "乡", "新区")
ROAD_SUFFIX = ("路", "大道", "街")
COMPANY_SUFFIX = ("建设集团", "建筑公司", "置业公司", "市政公司", "劳务公司")
PROJECT_SUFFIX = ("安置小区", "学校", "医院新院区", "体育中心", "污水处理厂", "商业综合体", "棚改项目")
SITES = ("青山新闻网", "江城晚报", "翠湖在线", "江城发布", "长河论坛", "滨江融媒", "今日头条号")

# Per category: subjects of the title, event phrases, details; body leads, middles.
EVENTS: dict[str, dict[str, list[str]]] = {
    "安全事故": {
        "subject": ["{road}{project}工地", "{project}建设工地", "{company}承建的{project}工地",
                    "{road}一在建工地"],
        "event": ["发生坍塌", "基坑局部坍塌", "塔吊倒塌", "脚手架倒塌", "一工人高处坠落", "发生火灾"],
        "detail": ["{n}名工人受伤", "{n}人被送医", "一人被困", "暂无人员伤亡", "已致{n}人受伤"],
        "lead": ["{d}{time}许，{place}{road}{project}施工现场{event2}，{n}名正在作业的工人受伤。",
                 "据网友反映，{d}{place}{project}工地{event2}，现场一片狼藉。",
                 "{d}，{company}承建的{project}在施工过程中{event2}，消防和急救人员迅速赶到。"],
        "middle": ["伤者已被送往{hospital}救治，目前伤情稳定。", "事故原因正在进一步调查中。",
                   "{place}应急管理局已责令工地停工整改。", "现场已拉起警戒线，周边道路临时管制。"],
    },
    "欠薪讨薪": {
        "subject": ["{company}", "{project}", "{place}{project}项目部", "{company}{project}"],
        "event": ["拖欠农民工工资", "欠薪半年", "拖欠{n}十余名工人工资", "工人聚集讨薪", "工人爬上塔吊讨薪"],
        "detail": ["涉及金额{n}十余万元", "工人多次讨要未果", "劳动监察已介入", "临近年关仍未结清"],
        "lead": ["有网友在问政平台反映，{company}承建的{project}拖欠{n}十余名农民工工资。",
                 "{d}，{n}十多名工人聚集在{project}项目部门口，讨要被拖欠的工资。",
                 "{place}{project}已停工{m}个月，工人的工资一直没有结清。"],
        "middle": ["工人表示，多次找{company}讨要均被推诿。", "当地劳动保障监察部门已介入调查。",
                   "记者联系该公司，对方称正在筹措资金。", "有工人称自己已经{m}个月没有拿到一分钱。"],
    },
    "征地拆迁": {
        "subject": ["{place}{village}村", "{village}村", "{place}{project}"],
        "event": ["拆迁补偿款迟迟不到位", "强拆引发村民不满", "征地补偿标准偏低", "安置房{m}年未交付",
                  "拆迁户过渡费被拖欠"],
        "detail": ["村民多次反映无果", "村民质疑不公平", "村民要求公开补偿标准", "有关部门回应正在核实"],
        "lead": ["{place}{village}村村民反映，因{project}建设征地拆迁，承诺的补偿至今未落实。",
                 "{d}，{place}{village}村多处房屋在未达成协议的情况下被拆除。",
                 "{village}村两百余户村民签订拆迁协议已{m}年，安置问题仍悬而未决。"],
        "middle": ["村民多次到{place}政府反映均无结果。", "有村民表示一家老小只能租房过渡。",
                   "当地政府回应称将依法依规妥善处理。", "村民要求公开评估依据和补偿明细。"],
    },
    "环境污染": {
        "subject": ["{place}{river}河", "{river}河", "{place}{project}工地", "{place}{factory}"],
        "event": ["出现大量死鱼", "河水发黑发臭", "扬尘污染严重", "夜间偷排废水", "异味扰民"],
        "detail": ["疑似企业偷排", "居民不敢开窗", "村民怀疑上游排污", "环保部门已取样调查"],
        "lead": ["{d}，{place}{river}河河面漂浮大量死鱼，附近居民怀疑上游企业偷排废水。",
                 "{place}{factory}被指连续多日在夜间通过暗管排放废水，河水发黑发臭。",
                 "{place}{project}工地土方作业未采取降尘措施，周边道路尘土飞扬。"],
        "middle": ["生态环境部门已派人到现场取样调查。", "附近居民多次投诉，情况仍未改善。",
                   "有居民拍下视频发到网上，引发关注。", "涉事企业负责人表示将立即整改。"],
    },
    "工程质量": {
        "subject": ["{place}{project}", "{company}开发的{project}", "{road}{project}"],
        "event": ["墙体大面积开裂", "交房不到一年就漏水", "新铺路面开裂下沉", "被指偷工减料"],
        "detail": ["业主担心安全", "业主要求重新检测", "居民质疑施工质量", "住建部门已介入"],
        "lead": ["{place}{project}交付不到一年，多栋楼出现墙体开裂、渗水。",
                 "{company}开发的{project}业主反映，房屋存在严重质量问题。",
                 "{road}改造工程完工仅{m}个月，新铺路面多处开裂、下沉。"],
        "middle": ["业主质疑{company}偷工减料，要求重新检测。", "住建部门已组织专家到现场查看。",
                   "开发商表示将尽快安排维修。", "居民担心存在安全隐患。"],
    },
    "交通出行": {
        "subject": ["{road}", "{place}{road}", "G{n}{m}国道{place}段"],
        "event": ["施工封路", "改造施工半幅封闭", "施工围挡占道", "因施工严重拥堵"],
        "detail": ["早高峰车辆排队{n}公里", "市民出行受影响", "交警提醒绕行", "公交线路临时调整"],
        "lead": ["因{place}{road}改造施工，{d}起实行半幅封闭，早高峰车辆排队长达{n}公里。",
                 "{road}施工围挡占用大半车道，每天上下班时段拥堵严重。"],
        "middle": ["交警提醒市民提前规划路线、绕行通过。", "有市民抱怨施工期间没有提前告知。",
                   "施工方表示预计{m}个月内完工。"],
    },
    "环境扰民": {
        "subject": ["{place}{project}", "{road}{project}工地", "{company}{project}"],
        "event": ["夜间施工噪音扰民", "凌晨施工居民难以入睡", "施工灯光直射居民楼"],
        "detail": ["居民投诉无果", "居民苦不堪言", "城管已介入", "附近居民多次投诉"],
        "lead": ["{place}{project}连续多日在夜间施工，机器轰鸣声持续到凌晨。",
                 "{road}{project}工地每天施工到深夜，附近{estate}小区居民难以入睡。"],
        "middle": ["居民投诉后情况仍未改善。", "城管部门表示将加强夜间巡查。",
                   "施工方称因工期紧张不得不夜间施工。"],
    },
}
# real titles vary more than templates: a word before the event, an aside after it
MODIFIERS = ("", "", "昨夜", "今晨", "再次", "突然", "疑似", "近日", "持续", "多处", "一度", "深夜")
ASIDES = ("持续{m}天", "已持续{m}个月", "涉及{n}百余户", "记者实地探访", "当地回应", "{n}小时后才处置",
          "网友拍下视频", "周边群众围观", "官方通报来了", "背后原因曝光")
HOSPITALS = ("区人民医院", "市第一人民医院", "中医院", "附近医院")
FACTORIES = ("化工厂", "造纸厂", "印染厂", "砂石厂", "养殖场")
TIMES = ("上午9时", "下午3时", "凌晨2时", "晚上8时", "中午12时")
DAYS = ("12月1日上午", "12月2日下午", "今天上午", "昨天晚上", "今天凌晨", "近日", "本周一")
EXTRA = ("据现场目击者介绍，事发时周围有不少群众围观。", "记者了解到，相关部门已成立工作组。",
         "不少网友在评论区留言，希望有关部门尽快处理。", "截至发稿时，当事方尚未作出回应。")
PREFIXES = ("突发！", "【转载】", "快讯｜", "网友爆料：", "视频｜", "【关注】")
_FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)} | {" ": "\u3000"})


_USED: set[str] = set()


def _name(rng: random.Random, size: int = 2) -> str:
    """A two-character name no other story has (stories sharing a name and an event
    would be one story to any reader)."""
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(size))
        if name not in _USED:
            _USED.add(name)
            return name


class _Slots(dict[str, str]):
    """Template slots made on first use (so a story only takes the names it shows)."""

    def __init__(self, makers: dict[str, Callable[[], str]]) -> None:
        super().__init__()
        self.makers = makers

    def __missing__(self, key: str) -> str:
        value = self[key] = self.makers[key]()
        return value


def story(rng: random.Random) -> tuple[str, list[str]]:
    """A new story: its title and the sentences of its body."""
    makers: dict[str, Callable[[], str]] = {
        "place": lambda: _name(rng) + rng.choice(PLACE_SUFFIX),
        "road": lambda: _name(rng) + rng.choice(ROAD_SUFFIX),
        "company": lambda: _name(rng) + rng.choice(COMPANY_SUFFIX),
        "project": lambda: _name(rng) + rng.choice(PROJECT_SUFFIX),
        "village": lambda: _name(rng), "river": lambda: _name(rng),
        "estate": lambda: _name(rng),
        "factory": lambda: _name(rng) + rng.choice(FACTORIES),
        "hospital": lambda: rng.choice(HOSPITALS),
        "n": lambda: str(rng.randint(2, 9)), "m": lambda: str(rng.randint(2, 9)),
        "d": lambda: rng.choice(DAYS), "time": lambda: rng.choice(TIMES),
    }
    slots = _Slots(makers)
    parts = EVENTS[rng.choice(list(EVENTS))]
    event = rng.choice(parts["event"]).format_map(slots)
    slots["event2"] = event
    title = rng.choice(parts["subject"]).format_map(slots) + rng.choice(MODIFIERS) + event
    if rng.random() < 0.7:
        title += rng.choice((" ", "，")) + rng.choice(parts["detail"]).format_map(slots)
    if rng.random() < 0.3:
        title += rng.choice((" ", "，")) + rng.choice(ASIDES).format_map(slots)
    if rng.random() < 0.3 and not title.startswith(slots["place"]):
        title = slots["place"] + title
    body = [rng.choice(parts["lead"]).format_map(slots)]
    body += [s.format_map(slots) for s in rng.sample(parts["middle"], rng.randint(1, 2))]
    if rng.random() < 0.3:
        body.append(rng.choice(EXTRA))
    if rng.random() < 0.15:
        body = []
    return title, body


def repost(title: str, sentences: list[str], rng: random.Random,
           s2t: Callable[[str], str]) -> Text:
    """The story as another site carries it: one to three of the usual edits."""
    body = list(sentences)
    # the body cut (8) after the other body edits, the site name (10) after the title edits
    edits = sorted(rng.sample(range(13), rng.randint(1, 3)), key=lambda e: (e in (8, 10), e))
    for e in edits:
        if e == 11:                                  # the city named first
            title = rng.choice(("江城市", "江城", "省城")) + title
        elif e == 12:                                # a lead naming the source
            lead = rng.choice(("记者从{0}应急管理局获悉，", "据{0}融媒体中心消息，", "{0}网友爆料称，"))
            body.insert(0, lead.format(rng.choice(("江城市", "青山区", "翠湖区"))))
        elif e == 9:                                 # the title's second half left out
            cut = max(title.rfind(" "), title.rfind("，"))
            title = title[:cut] if cut > 6 else title
        elif e == 10:                                # the site's name, always last
            title = f"{title}{rng.choice(('_', ' - ', '丨', ' | '))}{rng.choice(SITES)}"
        elif e == 0:                                 # punctuation
            title = title.replace(" ", "，", 1) if rng.random() < 0.5 else title + "！"
            body = [s.replace("，", ",").replace("。", ".") for s in body]
        elif e == 1:
            title = rng.choice(PREFIXES) + title
        elif e == 2:                                 # the site's own words added
            title += rng.choice(("，官方回应", " 网友热议", "引关注", "，最新进展"))
        elif e == 3:                                 # traditional characters
            title, body = s2t(title), [s2t(s) for s in body]
        elif e == 4:
            title, body = title.translate(_FULL), [s.translate(_FULL) for s in body]
        elif e == 5:
            title = title.replace(" ", "&nbsp;")
            body = [s.replace("，", "&#65292;", 1) for s in body]
        elif e == 6:
            body.insert(rng.randrange(len(body) + 1), rng.choice(EXTRA))
        elif e == 7 and len(body) > 1:
            body.pop()
        elif e == 8:
            text = "".join(body)
            body = [] if rng.random() < 0.4 else [text[: rng.randint(40, 70)] + "……"]
    return title, "".join(body)


@dataclass
class Corpus:
    stream: list[Text]                 # the items, in arrival order
    truth: list[int]                   # each item's story
    open_items: list[list[Text]]       # per open incident (other stories), its items


def make_corpus(items: int, open_incidents: int, rng: random.Random) -> Corpus:
    """``items`` stream items (about one in three a new story, the rest reposts of one of
    the last 300 stories) and ``open_incidents`` incidents of other stories."""
    s2t = opencc.OpenCC("s2t").convert
    stories: list[tuple[str, list[str]]] = []
    stream: list[Text] = []
    truth: list[int] = []
    for _ in range(items):
        if not stories or rng.random() < 0.33:
            stories.append(story(rng))
            sid = len(stories) - 1
            title, sentences = stories[sid]
            stream.append((title, "".join(sentences)))
        else:
            sid = rng.randrange(max(0, len(stories) - 300), len(stories))
            stream.append(repost(*stories[sid], rng, s2t))
        truth.append(sid)
    open_items = []
    for _ in range(open_incidents):
        title, sentences = story(rng)
        copies = [(title, "".join(sentences))]
        copies += [repost(title, sentences, rng, s2t) for _ in range(rng.randint(0, 2))]
        open_items.append(copies)
    return Corpus(stream, truth, open_items)


# ---- clustering ---------------------------------------------------------------------
@dataclass
class Outcome:
    seconds: float = 0.0
    lookup_s: float = 0.0          # through the Store: lookups (with Signature.load), writes
    write_s: float = 0.0
    comparisons: int = 0
    joined: list[int] = field(default_factory=list)   # each stream item's incident
    candidates: list[list[int]] = field(default_factory=list)   # and the ones it was compared with


def choose(sig: Signature, candidates: dict[int, list[Signature]],
           outcome: Outcome) -> tuple[int | None, float]:
    """The candidate incident most like ``sig`` (at or above the threshold), if any."""
    best, best_sim = None, 0.0
    for incident, sigs in candidates.items():
        for other in sigs:
            outcome.comparisons += 1
            s = similarity(sig, other)
            if s >= DEFAULT_THRESHOLD and s > best_sim:
                best, best_sim = incident, s
    return best, best_sim


class MemoryIndex:
    """Phase 1: key -> [(incident, signature)], as the store keeps (key, incident) rows."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[int, Signature]]] = defaultdict(list)
        self.next_id = 1

    def candidates(self, keys: list[str]) -> dict[int, list[Signature]]:
        out: dict[int, list[Signature]] = {}
        for key in keys:
            for incident, sig in self.rows.get(key, ()):
                sigs = out.setdefault(incident, [])
                if sig not in sigs:
                    sigs.append(sig)
        return out

    def add(self, incident: int | None, sig: Signature, keys: list[str]) -> int:
        if incident is None:
            incident, self.next_id = self.next_id, self.next_id + 1
        for key in keys:
            self.rows[key].append((incident, sig))
        return incident


class StoreIndex:
    """Phase 2: the same through the real Store (SQLite): lookups by key in the window,
    incidents and their items' keys written as the absorb step will write them."""

    def __init__(self, store: Store, item_ids: list[int], t0: datetime) -> None:
        self.store, self.item_ids, self.t0 = store, item_ids, t0
        self.pos = 0
        self.now = t0
        self.lookup_s = self.write_s = 0.0

    def candidates(self, keys: list[str]) -> dict[int, list[Signature]]:
        t = time.process_time()
        found = self.store.incident_candidates(keys, self.now - timedelta(hours=72))
        out = {incident: [Signature.load(s) for s in dict.fromkeys(sigs)]
               for incident, sigs in found.items()}
        self.lookup_s += time.process_time() - t
        return out

    def add(self, incident: int | None, sig: Signature, keys: list[str]) -> int:
        t = time.process_time()
        item_id = self.item_ids[self.pos]
        self.pos += 1
        self.now = self.t0 + timedelta(seconds=self.pos)   # all inside the 72-hour window
        with self.store.tx():
            if incident is None:
                incident = self.store.create_incident({
                    "title": "事件", "category": "安全生产", "level": "blue",
                    "first_seen": self.now, "last_seen": self.now, "opened_at": self.now,
                    "signature": sig.dump()})
            self.store.add_incident_item(incident, item_id=item_id, feed="源", level="blue",
                                         how="similar", similarity=None, seen_at=self.now,
                                         now=self.now, keys=keys, signature=sig.dump())
        self.write_s += time.process_time() - t
        return incident


def preload(index: MemoryIndex | StoreIndex, open_items: list[list[Text]],
            sigs: list[list[Signature]]) -> None:
    def load() -> None:
        for copies in sigs[:len(open_items)]:
            incident = None
            for sig in copies:
                incident = index.add(incident, sig, bucket_keys(sig))
    if isinstance(index, StoreIndex):
        with index.store.tx():          # one transaction (the stream's writes are one each)
            load()
    else:
        load()


def run_stream(index: MemoryIndex | StoreIndex, stream: list[Text]) -> Outcome:
    outcome = Outcome()
    t = time.process_time()
    for title, body in stream:
        sig = signature(title, body)
        keys = bucket_keys(sig)
        candidates = index.candidates(keys)
        incident, _ = choose(sig, candidates, outcome)
        outcome.joined.append(index.add(incident, sig, keys))
        outcome.candidates.append(list(candidates))
    outcome.seconds = time.process_time() - t
    if isinstance(index, StoreIndex):
        outcome.lookup_s, outcome.write_s = index.lookup_s, index.write_s
    return outcome


def other_story_candidates(outcome: Outcome, corpus: Corpus, preloaded_below: int) -> float:
    """Candidate incidents per item that hold another story (for an incident, the story
    of its first stream item; every preloaded incident is another story)."""
    owner: dict[int, int] = {}
    for incident, sid in zip(outcome.joined, corpus.truth, strict=True):
        owner.setdefault(incident, sid)
    other = sum(1 for cands, sid in zip(outcome.candidates, corpus.truth, strict=True)
                for c in cands if c < preloaded_below or owner.get(c, sid) != sid)
    return other / len(corpus.truth)


def accuracy(outcome: Outcome, corpus: Corpus, preloaded_below: int) -> tuple[int, int]:
    """(items put into another story's incident, extra incidents from split stories)."""
    owner: dict[int, int] = {}                  # incident -> story of its first stream item
    wrong = 0
    incidents_of: dict[int, set[int]] = defaultdict(set)
    for incident, sid in zip(outcome.joined, corpus.truth, strict=True):
        incidents_of[sid].add(incident)
        if incident < preloaded_below or owner.setdefault(incident, sid) != sid:
            wrong += 1
    return wrong, sum(len(v) - 1 for v in incidents_of.values())


# ---- baselines ----------------------------------------------------------------------
def text_baseline(stream: list[Text]) -> float:
    """CPU seconds of normalize() + jieba segmentation of title and body."""
    jieba = rjieba.Jieba()
    jieba.cut("预热", False)
    t = time.process_time()
    for title, body in stream:
        jieba.cut(normalize(title).text, False)
        jieba.cut(normalize(body).text, False)
    return time.process_time() - t


def brute_force(sigs: list[Signature], stream: list[Text], sample: int) -> float:
    """CPU seconds per item of signature() + similarity() with every open item."""
    t = time.process_time()
    for title, body in stream[:sample]:
        sig = signature(title, body)
        best = 0.0
        for other in sigs:
            best = max(best, similarity(sig, other))
    return (time.process_time() - t) / sample


# ---- main -------------------------------------------------------------------------
def fill_items(store: Store, count: int, t0: datetime) -> list[int]:
    rows = [{"feed": f"源{i % 50}", "dedup_key": f"g:{i}", "title": "t", "body": "",
             "content_hash": str(i), "fetched_at": (t0 + timedelta(seconds=i)).isoformat()}
            for i in range(count)]
    with store.tx() as db:
        db["items"].insert_all(rows, batch_size=5000)
    return [r[0] for r in store.db.execute("SELECT id FROM items ORDER BY id")]


def phase(name: str, make_index: Callable[[int], MemoryIndex | StoreIndex], corpus: Corpus,
          sizes: list[int], open_sigs: list[list[Signature]]) -> dict[int, Outcome]:
    out = {}
    for size in sizes:
        index = make_index(size)
        preload(index, corpus.open_items[:size], open_sigs)
        if isinstance(index, StoreIndex):
            index.lookup_s = index.write_s = 0.0
        first_new = size + 1 if isinstance(index, MemoryIndex) else \
            index.store.db.execute("SELECT coalesce(max(id), 0) + 1 FROM incidents").fetchone()[0]
        outcome = run_stream(index, corpus.stream)
        wrong, split = accuracy(outcome, corpus, first_new)
        other = other_story_candidates(outcome, corpus, first_new)
        n = len(corpus.stream)
        print(f"  {name}, {size:>6,} open incidents: {n / outcome.seconds:8,.0f} items/s, "
              f"{outcome.comparisons / n:.2f} comparisons per item "
              f"({other:.2f} candidate incidents of other stories); "
              f"items in another story's incident {wrong}, stories split +{split} incidents")
        out[size] = outcome
    return out


def main() -> None:
    started = time.perf_counter()
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--open", default="1000,10000")
    ap.add_argument("--no-store", action="store_true")
    args = ap.parse_args()
    sizes = [int(x) for x in args.open.split(",")]
    rng = random.Random(SEED)
    corpus = make_corpus(args.items, max(sizes), rng)
    signature("预热", "预热")                   # build normalize's tables outside the timings
    n = len(corpus.stream)
    print(f"聚类 clustering: {n:,} 条 items, {len(set(corpus.truth)):,} 个 stories; threshold "
          f"{DEFAULT_THRESHOLD}")
    print("  (a comparison is one similarity() call; an item is compared with the items of "
          "every incident sharing a key)")

    base_s = text_baseline(corpus.stream)
    print(f"  baseline normalize() + jieba segmentation of title and body: {n / base_s:,.0f} items/s")
    open_sigs = [[signature(*t) for t in copies] for copies in corpus.open_items]
    mem = phase("in memory", lambda size: MemoryIndex(), corpus, sizes, open_sigs)
    for size, outcome in mem.items():
        print(f"    {size:,} open: {base_s / outcome.seconds:.2f}× the normalize + segment baseline")
    flat = [sig for copies in open_sigs for sig in copies]
    for size in sizes:
        sigs = flat[:sum(len(c) for c in corpus.open_items[:size])]
        per_item = brute_force(sigs, corpus.stream, max(10, 80_000 // len(sigs)))
        print(f"  brute force against all {size:,} open incidents ({len(sigs):,} items): "
              f"{1 / per_item:,.0f} items/s; the key is {per_item * n / mem[size].seconds:,.0f}× "
              "faster")
    lo, hi = min(sizes), max(sizes)
    growth = (mem[hi].comparisons or 1) / (mem[lo].comparisons or 1)
    mark = "" if growth <= 1.5 else "  未达标 / below target"
    print(f"  comparisons per item, {hi:,} vs {lo:,} open incidents: {growth:.2f}× "
          f"(target ≤ 1.5×: the work does not grow with the incidents){mark}")

    if args.no_store:
        return
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        stores: list[Store] = []

        def store_index(size: int) -> StoreIndex:
            store = Store(Path(tmp) / f"bench{size}.db")
            stores.append(store)
            count = sum(len(c) for c in corpus.open_items[:size]) + n
            return StoreIndex(store, fill_items(store, count, t0), t0)

        db = phase("SQLite Store", store_index, corpus, sizes, open_sigs)
        for store in stores:
            store.close()
    for size, outcome in db.items():
        print(f"    {size:,} open: {mem[size].seconds / outcome.seconds:.2f}× in memory, "
              f"{base_s / outcome.seconds:.2f}× the normalize + segment baseline; per item "
              f"{outcome.lookup_s / n * 1e6:.0f} µs lookup (incident_candidates + load), "
              f"{outcome.write_s / n * 1e6:.0f} µs writes (create_incident, add_incident_item)")
    growth = (db[hi].comparisons or 1) / (db[lo].comparisons or 1)
    mark = "" if growth <= 1.5 else "  未达标 / below target"
    print(f"  comparisons per item through the Store, {hi:,} vs {lo:,} open incidents: "
          f"{growth:.2f}× (target ≤ 1.5×){mark}")
    print(f"  ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
