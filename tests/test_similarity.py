"""The near-duplicate key (``monitor.incidents.similarity``): reposts of one story are the
same story and share an LSH key; different stories that share many words stay apart;
signatures are deterministic across processes and survive dump/load; unrelated items
rarely share a key.

The table is realistic repost pairs (places, companies and projects invented), each edited
the way sites edit: punctuation, prefixes, site names, traditional characters, full-width
forms, HTML entities, sentences added or dropped, bodies cut or missing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.incidents import similarity as sim
from monitor.incidents.similarity import (
    DEFAULT_THRESHOLD,
    Signature,
    bucket_keys,
    same_story,
    signature,
    similarity,
)

ROOT = Path(__file__).resolve().parent.parent
Text = tuple[str, str]
Case = tuple[str, Text, Text]

_S1 = ("12月1日下午3时许，青山区滨江路地铁5号线施工工地发生局部坍塌，两名正在作业的工人受伤，"
       "已被送往区人民医院救治。事故原因正在调查中。")
_S2 = "今天上午，翠湖区桃源路华晟·云府项目一处脚手架突然倒塌，砸中路边停放的三辆汽车，暂无人员伤亡。"
_S3 = ("江湾镇云溪村村民反映，村里因滨江新区重点工程建设征地拆迁，至今已过去八个月，承诺的补偿款仍未"
       "发放到位，村民多次到镇政府反映均无结果。")
_S4 = "近日，有网友在问政平台反映，宏达建设集团承建的临江大道改造项目拖欠六十余名农民工工资近三百万元，工人多次讨要未果。"
_S5 = ("长河县化工园区附近居民反映，园区内一家企业连续多日在夜间通过暗管向白沙河偷排废水，河水发黑发臭，"
       "岸边死鱼随处可见。居民称已向环保部门举报。目前长河县生态环境局已派人到现场取样调查。")
_S6 = "滨江新区会展中心重点工程连续一周在夜间施工，机器轰鸣声持续到凌晨两三点，附近锦绣花园小区居民苦不堪言，投诉后情况仍未改善。"
_S7 = "因G320国道青山段路面改造施工，今日起实行半幅封闭，早高峰时段车辆排队长达3公里，交警提醒市民绕行。"
_S8 = "白沙街道幸福里小区老旧小区改造工程完工不到一个月，新铺的沥青路面多处开裂、下沉，居民质疑施工方偷工减料。"
_S10 = "青山区创业大道一工地塔吊发生倒塌，塔吊操作员受伤被困，消防人员经过一个小时救援将其救出。"
_S11 = ("2023年，临江大道拓宽工程启动征地拆迁，两百余户居民签订协议后搬离。按照协议，安置房应在两年内交付，"
        "但至今已过去三年，安置小区仍是一片工地。居民多次向区征收办反映，得到的答复都是“正在推进”。"
        "有居民表示，每月的过渡费也时有拖欠，一家老小只能租住在城郊。")
_S12 = "长河县第一中学新校区建设工地土方作业未采取覆盖、洒水等降尘措施，周边道路尘土飞扬，附近居民不敢开窗。"
_S13 = "鑫源建筑公司承建的江湾镇卫生院项目已停工半年，二十多名工人的工资一直没有结清，今天上午工人们聚集在公司门口讨要工资。"
_S15 = "滨江新区和美家园安置小区的电梯近一个月已发生多次故障，昨天一名七旬老人被困电梯内半个多小时，物业迟迟不到场。"
_S16 = "今天上午10时许，翠湖区金湖路地下综合管廊工程施工时挖断一条燃气管道，周边两个小区约三百名居民被紧急疏散，燃气公司已到场抢修。"
_S17 = "江湾镇云溪村一砂石厂未经审批占用基本农田二十余亩，堆放砂石、搭建厂房，村民举报后仍在生产。"
_S18 = "青山区PPP项目城东污水处理厂投运后，周边居民反映每到傍晚臭气明显，门窗紧闭也挡不住，希望有关部门尽快整改。"
_S21 = "今天中午，翠湖区金湖路一处燃气管道发生泄漏，沿街二十余家商铺紧急停业，燃气公司抢修两个小时后恢复供气。"
_S20 = "翠湖区人民医院新院区建设项目因资金不到位已停工四个月，工地围挡破损，建筑垃圾长期堆放无人清理。"

SAME: list[Case] = [
    ("punctuation",
     ("青山区滨江路地铁工地发生坍塌，两名工人受伤送医", _S1),
     ("青山区滨江路地铁工地发生坍塌 两名工人受伤送医！",
      _S1.replace("，", ",").replace("。", ".").replace("受伤,", "受伤;") + "……")),
    ("prefix 突发",
     ("翠湖区桃源路一在建楼盘脚手架倒塌", _S2),
     ("突发！翠湖区桃源路一在建楼盘脚手架倒塌", _S2)),
    ("prefix 转载, body empty",
     ("江湾镇云溪村拆迁补偿款迟迟不到位 村民多次反映无果", _S3),
     ("【转载】江湾镇云溪村拆迁补偿款迟迟不到位 村民多次反映无果", "")),
    ("sentence added",
     ("宏达建设集团拖欠临江大道项目农民工工资近三百万", _S4),
     ("宏达建设集团拖欠临江大道项目农民工工资近三百万",
      _S4 + "记者致电该公司，对方表示正在筹措资金，将于月底前结清。")),
    ("sentence removed",
     ("长河县化工园区企业夜间偷排废水 河道变成黑色", _S5),
     ("长河县化工园区企业夜间偷排废水 河道变成黑色", _S5.rsplit("目前", 1)[0])),
    ("traditional",
     ("滨江新区重点工程施工噪音扰民 居民深夜难以入睡", _S6),
     ("濱江新區重點工程施工噪音擾民 居民深夜難以入睡",
      "濱江新區會展中心重點工程連續一週在夜間施工，機器轟鳴聲持續到凌晨兩三點，附近錦繡花園小區"
      "居民苦不堪言，投訴後情況仍未改善。")),
    ("full-width",
     ("G320国道青山段施工封路 3公里车辆排长队", _S7),
     ("Ｇ３２０国道青山段施工封路　３公里车辆排长队",
      "因Ｇ３２０国道青山段路面改造施工，今日起实行半幅封闭，早高峰时段车辆排队长达３公里，交警提醒市民绕行。")),
    ("site name _",
     ("白沙街道老旧小区改造工程质量差 新铺路面一月就开裂", _S8),
     ("白沙街道老旧小区改造工程质量差 新铺路面一月就开裂_青山新闻网", _S8)),
    ("html entities",
     ("翠湖区“阳光花园”安置房墙体大面积开裂 业主担心安全",
      "翠湖区“阳光花园”安置房交付仅半年，多栋楼出现墙体大面积开裂，业主担心房屋安全，要求重新检测。"),
     ("翠湖区&ldquo;阳光花园&rdquo;安置房墙体大面积开裂&nbsp;业主担心安全",
      "翠湖区&#8220;阳光花园&#8221;安置房交付仅半年，多栋楼出现墙体大面积开裂，业主担心房屋安全，"
      "要求重新检测。")),
    ("快讯 + traditional + site name -",
     ("青山区一工地塔吊倒塌 操作员受伤", _S10),
     ("【快讯】青山區一工地塔吊倒塌 操作員受傷 - 江城晚报",
      "青山區創業大道一工地塔吊發生倒塌，塔吊操作員受傷被困，消防人員經過一個小時救援將其救出。")),
    ("summary body + site name |",
     ("临江大道拓宽工程拆迁户安置房三年未交付", _S11),
     ("临江大道拓宽工程拆迁户安置房三年未交付 | 江城论坛", _S11[:70] + "...")),
    ("body repeats the title",
     ("长河县第一中学新校区工地扬尘污染严重", _S12),
     ("长河县第一中学新校区工地扬尘污染严重", "长河县第一中学新校区工地扬尘污染严重 " + _S12)),
    ("prefix 网友爆料",
     ("鑫源建筑公司欠薪半年 二十多名工人堵门讨薪", _S13),
     ("网友爆料：鑫源建筑公司欠薪半年，二十多名工人堵门讨薪", _S13 + "（记者 张明）")),
    ("prefix 视频, both bodies empty",
     ("白沙河大量死鱼漂浮 疑似上游污水排放所致", ""),
     ("视频｜白沙河大量死鱼漂浮，疑似上游污水排放所致", "")),
    ("原标题 + source line",
     ("滨江新区安置小区电梯频繁故障 老人被困半小时", _S15),
     ("滨江新区安置小区电梯频繁故障 老人被困半小时",
      "原标题：滨江新区安置小区电梯频繁故障 老人被困半小时。" + _S15 + "（来源：江城日报）")),
    ("site name -, one body empty",
     ("翠湖区地下管廊工程施工挖断燃气管道 周边居民紧急疏散", ""),
     ("翠湖区地下管廊工程施工挖断燃气管道 周边居民紧急疏散-翠湖在线", _S16)),
    ("title lightly reworded",
     ("江湾镇一砂石厂非法占用基本农田", _S17),
     ("江湾镇砂石厂非法占用基本农田被举报", _S17.replace("村民举报后", "有村民举报后"))),
    ("case and exclamation marks",
     ("青山区PPP项目污水处理厂臭气扰民", _S18),
     ("青山区ppp项目污水处理厂臭气扰民！！", _S18.replace("PPP", "ppp"))),
    ("html entities in body + site name 丨",
     ("翠湖区人民医院新院区项目停工四个月 建筑垃圾无人清理", _S20),
     ("翠湖区人民医院新院区项目停工四个月 建筑垃圾无人清理丨江城发布",
      _S20.replace("工地围挡", "工地&nbsp;围挡").replace("，建筑", "&#65292;建筑"))),
    ("city named first, a lead naming the source",
     ("金湖路燃气管道泄漏 周边商铺紧急停业", _S21),
     ("江城市金湖路燃气管道泄漏 周边商铺紧急停业", "记者从翠湖区应急管理局获悉，" + _S21)),
    ("lead sentence added",
     ("青山区滨江路地铁工地发生坍塌，两名工人受伤送医", _S1),
     ("青山区滨江路地铁工地发生坍塌，两名工人受伤送医", "据江城晚报消息，" + _S1)),
]

DIFFERENT: list[Case] = [
    ("two collapses, two places",
     ("青山区滨江路地铁工地发生坍塌，两名工人受伤送医", _S1),
     ("翠湖区金湖路管廊工地发生坍塌，一名工人被埋",
      "12月3日上午，翠湖区金湖路地下综合管廊施工工地发生坍塌，一名工人被埋，经消防救援人员全力"
      "搜救后送医，目前生命体征平稳。事故原因正在调查中。")),
    ("two collapses, short titles, no bodies",
     ("青山区一工地发生坍塌", ""),
     ("翠湖区一工地发生坍塌", "")),
    ("two wage arrears, two companies",
     ("宏达建设集团拖欠临江大道项目农民工工资近三百万", _S4),
     ("鑫源建筑公司拖欠江湾镇卫生院项目农民工工资", _S13)),
    ("two wage arrears, short titles",
     ("宏达建设集团拖欠农民工工资", ""),
     ("鑫源建筑公司拖欠农民工工资", "")),
    ("official notice vs the original complaint",
     ("青山区滨江路地铁工地发生坍塌，两名工人受伤送医", _S1),
     ("关于滨江路地铁5号线工地坍塌事故的情况通报",
      "12月1日15时许，滨江路地铁5号线施工工地发生局部坍塌。经初步调查，事故系基坑支护不到位所致。"
      "区应急管理局已责令施工单位停工整改，并对相关责任单位立案调查。")),
    ("same site, another event",
     ("青山区滨江路地铁工地发生坍塌，两名工人受伤送医", _S1),
     ("青山区滨江路地铁工地夜间施工噪音扰民",
      "青山区滨江路地铁5号线施工工地连续多日夜间施工，附近居民反映噪音大、休息受影响，希望有关部门"
      "规范施工时间。")),
    ("demolition, two villages",
     ("江湾镇云溪村拆迁补偿款迟迟不到位 村民多次反映无果", _S3),
     ("长河县白石村征地拆迁补偿标准低 村民质疑不公平",
      "长河县白石村村民反映，县里高铁站片区征地拆迁的补偿标准远低于邻近乡镇，村民质疑补偿不公平，"
      "要求公开评估依据。")),
    ("dead fish, two rivers",
     ("白沙河大量死鱼漂浮 疑似上游污水排放所致", ""),
     ("长河县青龙河出现大量死鱼 村民怀疑化工厂排污", "")),
    ("generic title 情况通报",
     ("情况通报", "12月3日上午，翠湖区金湖路地下综合管廊施工工地发生坍塌，一名工人被埋，已送医救治。"),
     ("情况通报", "近日有网民反映宏达建设集团拖欠农民工工资一事，经核查，该公司已于12月5日结清全部欠薪。")),
    ("same company, two events",
     ("宏达建设集团拖欠临江大道项目农民工工资近三百万", _S4),
     ("宏达建设集团临江大道项目发生安全事故 一名工人坠落身亡",
      "昨日下午，宏达建设集团承建的临江大道改造项目工地一名工人从高处坠落，经抢救无效死亡。"
      "区应急管理局已介入调查。")),
    ("two fires, two towns",
     ("江湾镇一家具厂发生火灾", "今天凌晨，江湾镇工业园一家具厂发生火灾，消防部门出动六辆消防车扑救，未造成人员伤亡。"),
     ("长河县一家具厂发生火灾", "今天下午，长河县城南一家具厂仓库起火，浓烟滚滚，消防人员及时赶到将火扑灭。")),
    ("tower crane vs scaffold, same district",
     ("青山区一工地塔吊倒塌 操作员受伤", _S10),
     ("青山区一工地脚手架倒塌 三名工人受伤",
      "青山区城北一在建工地脚手架发生倒塌，三名工人受伤送医，目前伤情稳定。")),
    ("dust pollution, two schools",
     ("长河县第一中学新校区工地扬尘污染严重", _S12),
     ("长河县实验小学扩建工地扬尘污染严重",
      "长河县实验小学扩建工地土方开挖期间未落实降尘措施，学生上下学经过时尘土飞扬，家长意见很大。")),
    ("road closures, two roads",
     ("G320国道青山段施工封路 3公里车辆排长队", _S7),
     ("S208省道长河段施工封路 车辆绕行需多走10公里",
      "因S208省道长河段桥梁加固施工，即日起全封闭施工，过往车辆需绕行，交警提醒市民提前规划路线。")),
    ("demolition vs resettlement housing, same village",
     ("江湾镇云溪村拆迁补偿款迟迟不到位 村民多次反映无果", _S3),
     ("江湾镇云溪村拆迁安置房漏水严重 村民要求返修",
      "江湾镇云溪村拆迁安置房入住不到一年，多户居民家中出现屋顶漏水、墙面渗水，村民要求施工方返修。")),
    ("topping out, two key projects",
     ("滨江新区会展中心重点工程主体结构封顶",
      "滨江新区会展中心重点工程主体结构今日顺利封顶，比计划提前一个月，项目预计明年6月投入使用。"),
     ("青山区体育中心重点工程主体结构封顶",
      "青山区体育中心重点工程主体结构今日封顶，项目建成后将成为全区群众健身的重要场所。")),
    ("lift breakdowns, two estates",
     ("滨江新区安置小区电梯频繁故障 老人被困半小时", _S15),
     ("翠湖区阳光花园安置小区电梯频繁故障 业主投诉无人管",
      "翠湖区阳光花园安置小区多部电梯频繁出现故障，业主多次向物业投诉，物业以维修资金不足为由推诿。")),
    ("night-work noise, two sites",
     ("滨江新区重点工程施工噪音扰民 居民深夜难以入睡", _S6),
     ("翠湖区桃源路地铁工地夜间施工噪音扰民",
      "翠湖区桃源路地铁工地近期频繁夜间施工，附近居民反映噪音严重影响休息，多次投诉未果。")),
    ("gas pipe vs water pipe",
     ("翠湖区地下管廊工程施工挖断燃气管道 周边居民紧急疏散", _S16),
     ("青山区创业大道施工挖断供水管道 上千户居民停水",
      "今天上午，青山区创业大道道路改造施工时挖断一条供水主管道，周边上千户居民停水，自来水公司正在抢修。")),
    ("wage arrears, same company, two projects",
     ("鑫源建筑公司欠薪半年 二十多名工人堵门讨薪", _S13),
     ("鑫源建筑公司长河县职教中心项目拖欠工资 工人爬上塔吊讨薪",
      "鑫源建筑公司承建的长河县职教中心项目一名工人因被拖欠工资爬上塔吊讨薪，经民警和消防人员劝说后安全落地。")),
]


# ---- the table ----------------------------------------------------------------------
def test_the_table_is_big_enough():
    assert len(SAME) >= 15 and len(DIFFERENT) >= 15
    assert len({n for n, *_ in SAME}) == len(SAME)
    assert len({n for n, *_ in DIFFERENT}) == len(DIFFERENT)


@pytest.mark.parametrize(("name", "a", "b"), SAME, ids=[c[0] for c in SAME])
def test_reposts_are_the_same_story_and_share_a_key(name: str, a: Text, b: Text):
    sa, sb = signature(*a), signature(*b)
    assert same_story(sa, sb), (name, similarity(sa, sb))
    assert similarity(sa, sb) >= DEFAULT_THRESHOLD + 0.15, "too close to the threshold"
    assert set(bucket_keys(sa)) & set(bucket_keys(sb)), name
    assert similarity(sa, sb) == similarity(sb, sa)


@pytest.mark.parametrize(("name", "a", "b"), DIFFERENT, ids=[c[0] for c in DIFFERENT])
def test_different_stories_stay_apart(name: str, a: Text, b: Text):
    sa, sb = signature(*a), signature(*b)
    assert not same_story(sa, sb), (name, similarity(sa, sb))
    assert similarity(sa, sb) <= DEFAULT_THRESHOLD - 0.1, "too close to the threshold"


@pytest.mark.parametrize(("raw", "clean"), [
    ("【转载】突发！青山区工地坍塌_青山新闻网", "青山区工地坍塌"),
    ("快讯｜翠湖區工地坍塌 - 江城晚报", "翠湖区工地坍塌"),
    ("网友爆料：欠薪半年 | 江城论坛", "欠薪半年"),
    ("青山区工地坍塌丨青山区融媒体中心", "青山区工地坍塌"),
    ("Ｇ３２０国道施工&nbsp;封路 - xinhuanet.com", "g320国道施工封路"),
    ("2024-2025年度重点项目推进会", "20242025年度重点项目推进会"),  # not a site name
    ("突发", "突发"),                       # nothing left without it: kept
    ("【视频】", "视频"),
])
def test_clean_title(raw: str, clean: str):
    assert sim.clean_title(raw) == clean


def test_clean_body_drops_a_copy_of_the_title_and_keeps_the_lead():
    title = sim.clean_title("青山区工地坍塌")
    assert sim.clean_body("青山区工地坍塌 12月1日，一工地坍塌。", title) == "12月1日一工地坍塌"
    assert sim.clean_body("原标题：青山区工地坍塌。正文", title) == "正文"
    assert len(sim.clean_body("很长的正文。" * 100, title)) == sim.BODY_LEAD


def test_names_decide_between_stories_that_share_every_other_word():
    a, b = signature("青山区一工地发生坍塌", ""), signature("翠湖区一工地发生坍塌", "")
    assert similarity(a, b) < 0.3
    # naming the city as well is still the same story
    assert same_story(a, signature("江城市青山区一工地发生坍塌", ""))


def test_short_titles_say_little():
    a = signature("情况通报", "")
    assert similarity(a, a) < DEFAULT_THRESHOLD
    body = "12月1日下午，青山区滨江路地铁5号线施工工地发生局部坍塌，两名工人受伤，已送医救治。"
    assert similarity(signature("情况通报", body),
                      signature("情况通报", body.replace("已送医", "已被送往医院"))) > 0.8


def test_boilerplate_bodies_neither_join_stories_nor_share_keys():
    boilerplate = "截至发稿时，尚无进一步消息。"
    a = signature("青山区滨江路地铁工地发生坍塌", boilerplate)
    b = signature("翠湖区一小区拖欠物业人员工资", boilerplate)
    assert similarity(a, b) < 0.3
    assert not set(bucket_keys(a)) & set(bucket_keys(b))
    assert len(bucket_keys(a)) == sim.TITLE_BANDS


def test_bodies_that_differ_only_in_their_names_share_no_key():
    """Official wording is templated; the body keys carry the body's first name."""
    body = "{}施工围挡占用大半车道，每天上下班时段拥堵严重。交警提醒市民提前规划路线、绕行通过。"
    a = signature("营夏路施工围挡占道", body.format("营夏路"))
    b = signature("草霞路因施工严重拥堵", body.format("草霞路"))
    assert not {k for k in bucket_keys(a) if k[1] == "b"} & set(bucket_keys(b))
    assert not same_story(a, b)


def test_empty_items():
    empty = signature("", "")
    assert bucket_keys(empty) == []
    assert similarity(empty, empty) == 0.0
    body_only = signature("", SAME[0][1][1])
    assert similarity(body_only, body_only) == 1.0
    assert similarity(body_only, signature("青山区滨江路地铁工地坍塌", "")) == 0.0


# ---- keys, dump and load, determinism --------------------------------------------------
_texts = st.text(st.sampled_from("青山区滨江路工地坍塌欠薪拆迁 ，。！【】_-&;#amp12Ｇ３é\u200b\U00020000"),
                 max_size=60)


@settings(max_examples=200, deadline=None)
@given(_texts, _texts)
def test_signature_properties(title: str, body: str):
    sig = signature(title, body)
    assert Signature.load(sig.dump()) == sig
    assert sig.dump().isascii()
    keys = bucket_keys(sig)
    assert len(keys) <= 16 and all(len(k) <= 12 for k in keys)
    assert len(set(keys)) == len(keys)
    assert signature(title, body) == sig
    other = signature(body, title)
    assert 0.0 <= similarity(sig, other) <= 1.0
    assert similarity(sig, other) == similarity(other, sig)
    if sig.title_len >= sim.SHORT_TITLE or sig.body_len >= sim.SHORT_BODY:
        assert similarity(sig, sig) == pytest.approx(1.0)


@pytest.mark.parametrize("text", ["", "1", "2.3.x", "1.5.AAAA.AAAA.AAAA.AAAA", "9.5......",
                                  "1.5.AAA.....", "1.x......", "1.5.!!!!.....", "1.5.AAAAA....."])
def test_load_refuses_what_dump_did_not_write(text: str):
    with pytest.raises(ValueError):
        Signature.load(text)


def _sample_texts() -> list[Text]:
    rng = random.Random(3)
    chars = "青山区翠湖滨江路工地坍塌欠薪拆迁补偿村民反映污染噪音扰民，。！、【】&amp;Ｇ３２0國際"
    return [("".join(rng.choice(chars) for _ in range(rng.randint(0, 30))),
             "".join(rng.choice(chars) for _ in range(rng.randint(0, 150)))) for _ in range(150)]


def test_signature_is_the_same_in_another_process():
    """No ``hash()`` anywhere: another interpreter with another hash seed agrees."""
    texts = _sample_texts() + [a for _, a, _ in SAME] + [b for _, _, b in DIFFERENT]
    here = [signature(t, b).dump() for t, b in texts]
    script = ("import json, sys\n"
              "from monitor.incidents.similarity import signature\n"
              "texts = json.load(sys.stdin)\n"
              "print(json.dumps([signature(t, b).dump() for t, b in texts]))\n")
    for seed in ("1", "2"):
        r = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts),
                           capture_output=True, text=True, timeout=60, cwd=ROOT,
                           env=dict(os.environ, PYTHONHASHSEED=seed))
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == here


def test_dumps_stay_what_version_1_wrote():
    """A stored signature must keep its meaning: changing the algorithm means a new
    VERSION (this pins one dump and its keys)."""
    sig = signature("青山区滨江路地铁工地发生坍塌，两名工人受伤送医", SAME[0][1][1])
    assert sig.dump().startswith("1.")
    assert Signature.load(sig.dump()) == sig
    assert bucket_keys(sig)[0].startswith("1t0") and bucket_keys(sig)[-1].startswith("1b3")
    assert len(bucket_keys(sig)) == 16
    digest = hashlib.blake2b(sig.dump().encode(), digest_size=8).hexdigest()
    assert (digest, bucket_keys(sig)[:2]) == ("db764ef0fb3466cb", ["1t0b1c74450", "1t136851cd7"])


# ---- unrelated items rarely share a key ---------------------------------------------
SYLLABLES = "青山翠湖江湾长河白沙云溪桃源临滨金城东西南北新安宁丰泰和平阳光明华兴盛永福康乐清水石门龙凤鹿鸣松柏"
PLACES = ("区", "县", "镇", "街道", "村")
SUBJECTS = ("{n}路{p}工地", "{n}建设集团", "{n}小区", "{n}中学新校区工地", "{n}路改造工程", "{n}污水处理厂")
EVENTS = ("发生坍塌", "塔吊倒塌", "拖欠农民工工资", "工人聚集讨薪", "拆迁补偿款迟迟不到位", "夜间施工噪音扰民",
          "扬尘污染严重", "偷排废水", "墙体开裂", "施工封路", "发生火灾", "一工人坠落身亡", "安置房漏水",
          "强拆引发不满", "出现大量死鱼", "路面开裂下沉")
DETAILS = ("", " 两人受伤", " 村民多次反映无果", "，居民投诉", " 有关部门已介入", "，网友热议", " 官方回应")
SENTENCES = ("{place}{subject}{event}，现场有不少群众围观。", "据{place}居民反映，情况已持续{k}天。",
             "记者联系{n2}公司，对方表示正在处理。", "{place}有关部门已派人到现场调查。",
             "截至发稿时，尚无进一步消息。", "有网友拍下视频发到网上，引发关注。",
             "{n2}路附近{k}百余户居民受到影响。", "事件原因正在进一步调查中。")


def _unrelated(count: int) -> list[Text]:
    """``count`` different stories: each its own names, common events and sentences."""
    rng = random.Random(11)
    out = []
    for _ in range(count):
        def name() -> str:
            return rng.choice(SYLLABLES) + rng.choice(SYLLABLES)
        place = name() + rng.choice(PLACES)
        subject = rng.choice(SUBJECTS).format(n=name(), p=name())
        event = rng.choice(EVENTS)
        slots = {"place": place, "subject": subject, "event": event, "n2": name(),
                 "k": rng.randint(2, 9)}
        body = "".join(s.format(**slots) for s in rng.sample(SENTENCES, rng.randint(0, 3)))
        out.append((place + subject + event + rng.choice(DETAILS), body))
    return out


def _key_probability(a: Signature, b: Signature) -> float:
    """The chance that two items share a key, from their Jaccard indexes and the LSH
    parameters (an upper bound: a band's rows come from one permutation)."""
    miss = 1.0
    if a.title and b.title:
        jt = sim._jaccard(a.title, b.title, sim.TITLE_SKETCH)
        miss *= (1 - jt ** sim.TITLE_ROWS) ** sim.TITLE_BANDS
    if a.body_bands and b.body_bands:
        jb = sim._jaccard(a.body, b.body, sim.BODY_SKETCH)
        miss *= (1 - jb ** sim.BODY_ROWS) ** sim.BODY_BANDS
    return 1 - miss


def test_unrelated_items_rarely_share_a_key():
    items = _unrelated(2000)
    assert len(set(items)) == len(items)
    sigs = [signature(t, b) for t, b in items]
    index: dict[str, set[int]] = defaultdict(set)
    for i, s in enumerate(sigs):
        for key in bucket_keys(s):
            index[key].add(i)
    sharing = set()
    for ids in index.values():
        sharing.update(itertools.combinations(sorted(ids), 2))
    pairs = len(items) * (len(items) - 1) // 2
    # what the LSH parameters let through, estimated over a sample of pairs
    rng = random.Random(5)
    sample = [rng.sample(range(len(items)), 2) for _ in range(20_000)]
    expected = sum(_key_probability(sigs[a], sigs[b]) for a, b in sample) / len(sample) * pairs
    assert len(sharing) <= 2 * expected + 20, (len(sharing), expected)
    # rare: on average an item meets fewer than one unrelated item per 1,000 in its buckets
    assert len(sharing) * 2 / len(items) < len(items) / 1000, len(sharing)
    # and those it meets are told apart
    assert sum(same_story(sigs[a], sigs[b]) for a, b in sharing) <= len(sharing) // 100
