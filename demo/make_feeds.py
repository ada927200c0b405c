"""Generate the demo feeds in ``demo/feeds/`` (served by a local HTTP server in the demo).

    python demo/make_feeds.py                 # fixed dates (the committed files)
    python demo/make_feeds.py --now           # dates relative to the current time

Five sources about the work of 青山区重点项目服务中心 (all names made up, no real people):

    qingshan_rongmeiti.xml   区融媒体中心       UTF-8 RSS 2.0
    qingshan_luntan.xml      青山社区论坛       GBK, no encoding declaration, no BOM
    qingshan_wenzheng.xml    青山区网络问政平台 Atom 1.0
    binjiang_zhengwu.xml     滨江新区政务网     GB2312 declared (GBK bytes)
    qingshan_fabu.json       青山发布           JSON Feed 1.1

and three page sources without a feed (``type = "html"`` / ``"json"`` with ``[feeds.select]``,
see ``feeds/manifest.json``):

    bbs/forum-12-1.html      青山论坛·民生杂谈   Discuz-like list page, GBK bytes, <meta charset="gb2312">,
                                                 dates as the forum writes them (08:52, 3天前, 2026-11-30)
    api/liuyan/list          青山区领导留言板    a 留言板 JSON API: createTime in Unix milliseconds,
                                                 links from link_template
    news/list.html           滨江新区新闻网      a news list page, UTF-8, dates like 2026年12月2日

Items cover the rule categories 安全生产, 工程质量, 欠薪讨薪, 征地拆迁, 环境扰民, 交通出行,
廉政风险, 网络谣言, 干部网络行为, plus near-misses that must not match (消防演练, 应急演习,
"营商环境和服务水平", 工地招聘启事) and neutral news. One story (the 翠湖站 collapse) is
reported by two sources so the demo shows one incident with two items.
"""

from __future__ import annotations

import argparse
import html
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).resolve().parent / "feeds"
FIXED_NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # 20:00 in Beijing
CST = timezone(timedelta(hours=8))

# (guid, hours before "now", title, body HTML, author)
RONGMEITI = [
    ("rmt-20250310-001", 30, "青山区召开2025年重点项目建设推进会",
     "<p>3月8日，青山区召开2025年重点项目建设推进会。区重点项目服务中心通报了全区86个重点项目的进展情况。</p>"
     "<p>会议要求，各部门要持续提升营商环境和服务水平，为项目落地提供全流程帮办代办服务。</p>", "区融媒体中心"),
    ("rmt-20250310-002", 5, "滨江新区地铁6号线翠湖站施工工地发生局部坍塌 2名工人受伤",
     "<p>3月10日14时许，地铁6号线翠湖站施工工地基坑发生局部坍塌，2名工人受伤，已送医救治，暂无生命危险。</p>"
     "<p>区应急管理局、区住建局已赶赴现场处置，事故原因正在调查中。</p>", "区融媒体中心记者"),
    ("rmt-20250310-003", 50, "青山区开展高层建筑消防演练",
     "<p>3月8日上午，区消防救援大队在青山花园小区开展高层建筑消防演练，模拟18楼住户家中发生火灾，"
     "演练了初期火灾扑救、人员疏散和伤员转运等科目。</p>", "区融媒体中心"),
    ("rmt-20250310-004", 26, "翠湖路（江北大道至滨湖路段）3月12日起封闭施工",
     "<p>因雨污管网改造施工需要，翠湖路（江北大道至滨湖路段）自3月12日起实行全封闭，预计工期60天。</p>"
     "<p>封路期间公交12路、35路绕行滨湖路，早晚高峰可能出现施工拥堵，请市民提前规划出行路线。</p>", "区融媒体中心"),
    ("rmt-20250310-005", 8, "青山大道高架桥“出现裂缝即将垮塌”系不实消息",
     "<p>近日，网传“青山大道高架桥桥墩出现裂缝即将垮塌”的视频引发关注。经区住建局组织专家现场检测，"
     "视频中的痕迹为表面装饰层接缝，桥梁结构安全。</p><p>特此辟谣，请勿传播不实消息。</p>", "区融媒体中心"),
    ("rmt-20250310-006", 72, "区人社局根治欠薪冬季专项行动成效明显",
     "<p>冬季专项行动期间，区人社局检查在建工程项目54个，督促发放农民工工资1860万元。</p>", "区融媒体中心"),
    ("rmt-20250310-007", 3, "滨江花园二期项目工地招聘启事",
     "<p>滨江花园二期项目工地现招聘钢筋工、木工、架子工各10名，工资日结，包食宿。</p>"
     "<p>报名地点：项目部一楼办公室。</p>", "区融媒体中心"),
]

LUNTAN = [
    ("thread-80121", 4, "【求助】滨江花园工地拖欠我们农民工工资半年了，去项目部讨薪被赶出来",
     "我们二十多个老乡在滨江花园工地干了大半年，工资一直拖着不发，<br>昨天去项目部讨薪，被保安赶了出来。<br>"
     "过年都没拿到钱，不知道该找哪个部门？", "打工人老李"),
    ("thread-80122", 4.5, "地铁6号线翠湖站工地塌了！救护车来了好几辆",
     "下午两点多在翠湖路上听到一声闷响，工地围挡里面塌了一大块，<br>看到有工人被抬出来，救护车来了好几辆。",
     "翠湖路居民"),
    ("thread-80118", 20, "半夜两点还在打桩！翠湖路夜间施工噪音扰民谁来管",
     "连续一个星期了，每天晚上十二点以后还在打桩，噪音大得根本睡不着，<br>白天扬尘也很大，窗户都不敢开。", "失眠的业主"),
    ("thread-80110", 40, "江湾村强拆，补偿标准比隔壁村低一半",
     "昨天一大早来了一批人把村东头的房子强拆了，<br>补偿标准比隔壁村低了一半，补偿不公，村民都不服。", "江湾村民"),
    ("thread-80105", 60, "新交付的安置小区墙面到处是裂缝，怀疑偷工减料",
     "滨江安置小区才交房三个月，客厅和卧室墙面到处是裂缝，<br>卫生间还漏水，大家怀疑开发商偷工减料。", "安置户小王"),
    ("thread-80101", 80, "周末去青山湖公园踏青，樱花开了",
     "湖边的樱花开了一大片，人不多，推荐大家周末带孩子去走走。", "青山摄影爱好者"),
]

WENZHENG = [
    ("tag:wz.qingshan.example.cn,2025:7301", 10, "关于青山大道工地扬尘严重的投诉",
     "<p>青山大道与江北路交叉口的工地没有洒水降尘，渣土裸露，大风天扬尘严重，周边居民苦不堪言。</p>"
     "<p><strong>回复：</strong>区城管局已责令施工单位覆盖裸土并增加雾炮设备。</p>", "网友“青山居民”"),
    ("tag:wz.qingshan.example.cn,2025:7302", 28, "滨湖路施工封路导致上下班拥堵严重",
     "<p>滨湖路封路施工后，江北大道早高峰堵得一动不动，通勤时间多了四十分钟，建议优化交通组织。</p>", "网友“通勤族”"),
    ("tag:wz.qingshan.example.cn,2025:7303", 6, "反映某街道工作人员用微信传送涉密文件",
     "<p>有人在业主群里发了一张截图，显示某街道工作人员用个人微信向外传送标有“秘密”字样的涉密文件，"
     "希望有关部门核实。</p>", "网友“知情人”"),
    ("tag:wz.qingshan.example.cn,2025:7304", 14, "重点项目招标疑似围标，多家投标单位报价雷同",
     "<p>青山区某道路改造重点项目招标中，多家投标单位的报价和技术方案高度雷同，疑似串通围标，请纪委调查。</p>",
     "网友“关注者”"),
    ("tag:wz.qingshan.example.cn,2025:7305", 48, "咨询：滨江新区安置房什么时候交付？",
     "<p>我家是滨江新区拆迁户，想问一下三期安置房的交付时间。</p>"
     "<p><strong>回复：</strong>三期安置房预计今年9月底交付，具体以通知为准。</p>", "网友“等新房”"),
    # a repost of the forum's thread-80121: the same story from another source
    ("tag:wz.qingshan.example.cn,2025:7307", 3.8, "滨江花园工地拖欠农民工工资半年 讨薪被赶出项目部",
     "<p>网友反映：我们二十多个老乡在滨江花园工地干了大半年，工资一直拖着不发，昨天去项目部讨薪，"
     "被保安赶了出来。过年都没拿到钱，不知道该找哪个部门？</p>", "网友“打工人”"),
    ("tag:wz.qingshan.example.cn,2025:7306", 90, "建议在翠湖路口增设人行天桥",
     "<p>翠湖路口学生上下学过马路不安全，建议增设人行天桥或地下通道。</p>", "网友“家长”"),
]

ZHENGWU = [
    ("bj-jw-0308", 36, "区纪委监委：原区重点项目服务中心某科室负责人涉嫌受贿被立案审查",
     "<p>经区纪委监委审查调查，原区重点项目服务中心某科室负责人涉嫌受贿，目前正接受纪律审查和监察调查。</p>"),
    ("bj-py-0310", 7, "关于网传“滨江新区暂停所有拆迁补偿”的辟谣声明",
     "<p>近日，有自媒体发布“滨江新区暂停所有拆迁补偿”的消息。经核实，该消息为不实消息，"
     "滨江新区各项征收补偿工作正常开展。请广大群众不信谣、不传谣。</p>"),
    ("bj-yj-0307", 70, "滨江新区举行2025年安全生产应急演习",
     "<p>3月7日，滨江新区在地铁6号线工地举行安全生产应急演习，模拟基坑坍塌、人员被困场景，"
     "检验了应急救援队伍的快速反应能力。</p>"),
    ("bj-zx-0309", 34, "区重点项目服务中心召开一季度工作例会",
     "<p>会议强调，要持续优化营商环境和服务水平，推动重点项目早开工、早投产。</p>"),
    ("bj-ys-0306", 100, "滨江新区污水处理厂扩建工程通过竣工验收",
     "<p>扩建工程新增日处理能力10万吨，经质量监督部门验收合格。</p>"),
    # the same story again, lightly edited, with a sentence added
    ("bj-ly-0310", 3.5, "转：滨江花园工地拖欠农民工工资半年了，去项目部讨薪被赶出来",
     "<p>我们二十多个老乡在滨江花园工地干了大半年，工资一直拖着不发，昨天去项目部讨薪，被保安赶了出来。"
     "过年都没拿到钱，不知道该找哪个部门？目前已有网友转发至区长信箱。</p>"),
    ("bj-hz-0310", 1.5, "滨江新区某商业综合体项目工地发生火灾 无人员伤亡",
     "<p>3月10日18时许，滨江新区某商业综合体项目工地一处材料堆放区发生火灾，"
     "消防救援人员迅速到场扑灭，无人员伤亡。起火原因正在调查。</p>"),
]

FABU = [
    ("qsfb-1001", 55, "青山区2025年第一批重点项目集中开工",
     "<p>本次集中开工重点项目23个，总投资152亿元，涵盖产业、民生和基础设施。</p>"),
    ("qsfb-1002", 9, "【辟谣】“地铁施工导致青山区地下水污染”系不实消息",
     "<p>网传“地铁施工导致青山区地下水污染”一事，经区生态环境分局检测，地下水各项指标正常，该信息系不实消息。</p>"),
    ("qsfb-1003", 3.5, "农民工讨薪视频引关注 区里连夜协调解决",
     "<p>针对网传滨江花园工地农民工讨薪视频，区人社局连夜约谈施工企业，督促尽快足额支付拖欠工资。</p>"),
    ("qsfb-1004", 24, "关于青山大道重点工程夜间施工审批情况的公示",
     "<p>经审批，青山大道重点工程3月11日至3月25日每日22时至次日6时进行混凝土浇筑夜间施工，"
     "施工单位须采取降噪措施。</p>"),
    ("qsfb-1005", 65, "青山区举办“工地开放日”活动",
     "<p>市民走进青山大道重点工程工地，近距离了解盾构施工技术。</p>"),
]


# The page sources. (tid, hours before "now", title, author)
BBS = [
    (80201, 2.5, "江北路在建楼盘脚手架倒塌，一名工人被压受伤，现场拉起了警戒线", "江北路路过"),
    (80202, 5, "翠湖小区旁工地深夜施工噪音扰民，投诉多次无人管", "翠湖业主"),
    (80198, 30, "滨江花园二期项目工地招聘木工、钢筋工，工资日结", "劳务小张"),
    (80190, 80, "周末青山湖樱花节，人比花多", "青山摄影爱好者"),
    (80150, 400, "青山区哪家幼儿园口碑好？求推荐", "新手妈妈"),
]
# (tid, hours before "now", title, content, user)
LIUYAN = [
    (10231, 3, "青山大道重点工程项目部拖欠农民工工资三个月",
     "我们在青山大道重点工程干了三个月，项目部一直拖欠工资，包工头联系不上，请领导帮忙解决。", "网友“讨薪无门”"),
    (10229, 6, "江湾村征地补偿款迟迟不到位，村民到村委会讨说法",
     "江湾村二组的征地补偿款说好去年底发放，到现在还没到位，村民多次去村委会讨说法，没有答复。", "网友“江湾二组”"),
    (10220, 26, "咨询：12路公交改线后在哪里换乘？",
     "翠湖路封闭施工后12路公交改线了，想问一下去区医院在哪里换乘。", "网友“上班族”"),
    (10211, 50, "建议青山湖公园增加夜间照明",
     "青山湖公园环湖步道晚上太暗，建议增加路灯。", "网友“夜跑者”"),
]
# (path, hours before "now", title)
NEWS = [
    ("/news/bj/c_20301.html", 1, "滨江新区一化工厂仓库发生爆炸 3人受伤送医"),
    ("/news/bj/c_20297.html", 20, "滨江新区召开安全生产工作会议"),
    ("/news/bj/c_20290.html", 44, "滨江新区开展防汛应急演练"),
    ("/news/bj/c_20288.html", 70, "滨江新区新增3条公交线路 方便居民出行"),
]


def _forum_date(when: datetime, now: datetime) -> str:
    """As Discuz writes it: 08:52 within a day, 3天前 within a week, else 2026-11-30."""
    local, age = when.astimezone(CST), now - when
    if age < timedelta(hours=24):
        return f"{local:%H:%M}"
    if age < timedelta(days=7):
        return f"{age.days}天前"
    return f"{local:%Y-%m-%d}"


def forum_page(now: datetime) -> str:
    rows = []
    for tid, hours, title, author in BBS:
        date = _forum_date(now - timedelta(hours=hours), now)
        rows.append(
            f'<tbody id="normalthread_{tid}"><tr>\n'
            f'  <td class="icn"><a href="thread-{tid}-1-1.html"><img src="static/folder_new.gif"></a></td>\n'
            f'  <th class="new"><a href="thread-{tid}-1-1.html" class="s xst">{html.escape(title)}</a></th>\n'
            f'  <td class="by"><cite><a href="space-uid-{tid % 97}.html">{html.escape(author)}</a></cite>'
            f'<em><span>{date}</span></em></td>\n'
            f'  <td class="num"><a href="thread-{tid}-1-1.html" class="xi2">{tid % 37}</a><em>{tid % 911}</em></td>\n'
            "</tr></tbody>")
    return ('<!DOCTYPE html>\n<html><head><meta charset="gb2312">'
            "<title>民生杂谈 - 青山论坛 - Powered by Discuz!</title></head>\n<body>\n"
            '<div id="threadlist"><table summary="forum_12" id="threadlisttableid">\n'
            '<tbody id="separatorline"><tr><th>版块主题</th></tr></tbody>\n'
            + "\n".join(rows) + "\n</table></div>\n"
            '<div class="pg"><strong>1</strong><a href="forum-12-2.html" class="nxt">下一页</a></div>\n'
            "</body></html>\n")


def liuyan_api(now: datetime) -> str:
    rows = [{"tid": tid, "title": title, "content": content, "userName": user,
             "createTime": int((now - timedelta(hours=hours)).timestamp() * 1000), "state": 1}
            for tid, hours, title, content, user in LIUYAN]
    doc = {"code": 0, "msg": "success", "data": {"total": len(rows), "page": 1, "list": rows}}
    return json.dumps(doc, ensure_ascii=False) + "\n"


def news_page(now: datetime) -> str:
    rows = []
    for path, hours, title in NEWS:
        local = (now - timedelta(hours=hours)).astimezone(CST)
        rows.append(f'  <li><a href="{path}" target="_blank">{html.escape(title)}</a>'
                    f"<span>{local.year}年{local.month}月{local.day}日</span></li>")
    return ('<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            "<title>滨江要闻 - 滨江新区新闻网</title></head>\n<body>\n"
            '<div class="list"><h2>滨江要闻</h2>\n<ul class="news">\n' + "\n".join(rows)
            + "\n</ul></div>\n</body></html>\n")


def _rfc822(dt: datetime) -> str:
    local = dt.astimezone(CST)
    return local.strftime("%a, %d %b %Y %H:%M:%S +0800")


def rss(title: str, link: str, items: list, now: datetime, *, dates: str) -> str:
    out = [f"  <title>{html.escape(title)}</title>", f"  <link>{link}</link>",
           f"  <description>{html.escape(title)}</description>", "  <language>zh-cn</language>",
           "  <ttl>15</ttl>"]
    for guid, hours, ititle, body, *author in items:
        when = now - timedelta(hours=hours)
        if dates == "rfc822":
            date = _rfc822(when)
        elif dates == "plain":
            date = when.astimezone(CST).strftime("%Y-%m-%d %H:%M")
        else:
            local = when.astimezone(CST)
            date = f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
        out += ["  <item>", f"    <title>{html.escape(ititle)}</title>",
                f"    <link>{link}{guid}.html</link>",
                f'    <guid isPermaLink="false">{guid}</guid>', f"    <pubDate>{date}</pubDate>"]
        if author:
            out.append(f"    <author>{html.escape(author[0])}</author>")
        out += [f"    <description>{html.escape(body)}</description>", "  </item>"]
    return '<rss version="2.0">\n<channel>\n' + "\n".join(out) + "\n</channel>\n</rss>\n"


def atom(title: str, link: str, items: list, now: datetime) -> str:
    out = ['<feed xmlns="http://www.w3.org/2005/Atom">', f"  <title>{html.escape(title)}</title>",
           f'  <link href="{link}"/>', "  <id>urn:demo:qingshan-wenzheng</id>",
           f"  <updated>{now.astimezone(CST).isoformat()}</updated>"]
    for guid, hours, ititle, body, author in items:
        when = (now - timedelta(hours=hours)).astimezone(CST).isoformat()
        num = guid.rsplit(":", 1)[-1]
        out += ["  <entry>", f"    <title>{html.escape(ititle)}</title>",
                f'    <link href="{link}q/{num}.html"/>', f"    <id>{guid}</id>",
                f"    <published>{when}</published>", f"    <updated>{when}</updated>",
                f"    <author><name>{html.escape(author)}</name></author>",
                f'    <content type="html">{html.escape(body)}</content>', "  </entry>"]
    return '<?xml version="1.0" encoding="utf-8"?>\n' + "\n".join(out) + "\n</feed>\n"


def jsonfeed(title: str, link: str, items: list, now: datetime) -> str:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": title, "home_page_url": link,
           "items": [{"id": guid, "url": f"{link}a/{guid}.html", "title": ititle,
                      "content_html": body,
                      "date_published": (now - timedelta(hours=hours)).astimezone(CST).isoformat()}
                     for guid, hours, ititle, body in items]}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def build(now: datetime) -> dict[str, bytes]:
    return {
        "qingshan_rongmeiti.xml": ('<?xml version="1.0" encoding="utf-8"?>\n' + rss(
            "青山区融媒体中心", "https://news.qingshan.example.cn/", RONGMEITI, now,
            dates="rfc822")).encode("utf-8"),
        # a typical old forum: GBK bytes, XML declaration without an encoding, no BOM
        "qingshan_luntan.xml": ('<?xml version="1.0"?>\n' + rss(
            "青山社区论坛", "http://bbs.qingshan.example.cn/", LUNTAN, now,
            dates="plain")).encode("gbk"),
        "qingshan_wenzheng.xml": atom("青山区网络问政平台", "https://wz.qingshan.example.cn/",
                                      WENZHENG, now).encode("utf-8"),
        "binjiang_zhengwu.xml": ('<?xml version="1.0" encoding="gb2312"?>\n' + rss(
            "滨江新区政务网", "http://www.binjiang.example.gov.cn/", ZHENGWU, now,
            dates="chinese")).encode("gbk"),
        "qingshan_fabu.json": jsonfeed("青山发布", "https://fabu.qingshan.example.cn/", FABU,
                                       now).encode("utf-8"),
        # page sources: an old forum's list page in GBK, a 留言板 API, a news list page
        "bbs/forum-12-1.html": forum_page(now).encode("gbk"),
        "api/liuyan/list": liuyan_api(now).encode("utf-8"),
        "news/list.html": news_page(now).encode("utf-8"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--now", action="store_true", help="dates relative to the current time")
    parser.add_argument("--out", type=Path, default=OUT, help="output directory")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0) if args.now else FIXED_NOW
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in build(now).items():
        (args.out / name).parent.mkdir(parents=True, exist_ok=True)
        (args.out / name).write_bytes(data)
        print(f"{args.out / name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
