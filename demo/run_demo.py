"""`make demo`: serve the bundled sample feeds on 127.0.0.1, run the daemon against them,
and show what it fetched, how the rules scored it, the incidents it made, and the alerts
its staff received: a local SMTP inbox and local DingTalk/Feishu/WeCom/webhook receivers
that check every signature as the platforms do (tests/receivers.py).

Besides the feeds, three sources publish no feed and are read with selectors (``type =
"html"``/``"json"`` with ``[feeds.select]``, from ``feeds/manifest.json``): a forum's list
page in GBK, a 留言板 JSON API and a news list page. Their items are scored, made into
incidents and alerted like feed items.

Everything happens under demo/work/ (recreated on each run); nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
FEEDS = WORK / "feeds"          # made afresh from demo/make_feeds.py, dated before now
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
from monitor.models import distinct_phrases  # noqa: E402

from receivers import RobotReceiver, SmtpInbox  # noqa: E402  (the fake platforms)

# the demo's own secrets, given to the daemon through its environment as in production
SECRETS = {"YUQING_DEMO_HOOK_SECRET": "demo-hook-secret",
           "YUQING_DEMO_DINGTALK_SECRET": "SECdemo-dingtalk",
           "YUQING_DEMO_FEISHU_SECRET": "demo-feishu-secret",
           # signs the console's sessions and the links in alerts (also in `make console`)
           "YUQING_WEB_SECRET": "demo-web-secret-not-for-production"}
CONSOLE_PORT = 8700                     # `make console` serves the demo here
DEMO_PASSWORD = "demo-password"         # the demo's console accounts (below)
ACCOUNTS = {"张三": "staff", "王五": "admin", "赵六": "reporter"}
ESCALATE_AFTER = 8   # seconds: the demo's route escalates quickly to show it happen


def console_port() -> int:
    """8700 when it is free (``make console`` then needs no argument), else a free one."""
    import socket

    for port in (CONSOLE_PORT, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free port")


def alerting_config(robots: RobotReceiver, inbox: SmtpInbox) -> str:
    """The demo's staff, routes and alert settings (appended to the generated config)."""
    hook = robots.url_for("webhook", "zhangsan", secret=SECRETS["YUQING_DEMO_HOOK_SECRET"])
    ding = robots.url_for("dingtalk", "demo-ding-token", secret=SECRETS["YUQING_DEMO_DINGTALK_SECRET"])
    feishu = robots.url_for("feishu", "demo-feishu-token", secret=SECRETS["YUQING_DEMO_FEISHU_SECRET"])
    wecom = robots.url_for("wecom", "demo-wecom-key")
    return f"""
[smtp]
host = "127.0.0.1"
port = {inbox.port}
sender = "yuqing@demo.example"

[[staff]]
name = "张三"
email = "zhangsan@demo.example"
webhook = "{hook}"
webhook_secret_env = "YUQING_DEMO_HOOK_SECRET"

[[staff]]
name = "舆情值班群"
dingtalk = {{ webhook = "{ding}", secret_env = "YUQING_DEMO_DINGTALK_SECRET" }}
feishu = {{ webhook = "{feishu}", secret_env = "YUQING_DEMO_FEISHU_SECRET" }}
wecom = {{ webhook = "{wecom}" }}

[[staff]]
name = "李四"
email = "lisi@demo.example"

[[staff]]
name = "王五"
email = "wangwu@demo.example"

[[routes]]
categories = ["*"]
min_level = "yellow"
notify = ["张三", "舆情值班群"]
escalate_after = "{ESCALATE_AFTER}s"
escalate_to = ["李四"]
remind_every = "1h"

[incidents]
spread = [{{ sources = 3, within = "2h" }}]

[alerts]
admins = ["王五"]
tick = "2s"
"""


def enable_console(config: Path, port: int) -> None:
    """Turn on the generated config's ``[web]`` section (comments kept, as an admin would)."""
    import tomlkit

    doc = tomlkit.parse(config.read_text("utf-8"))
    web = doc["web"]
    web["enabled"] = True                                          # type: ignore[index]
    web["listen"] = f"127.0.0.1:{port}"                            # type: ignore[index]
    web["base_url"] = f"http://127.0.0.1:{port}"                   # type: ignore[index]
    config.write_text(tomlkit.dumps(doc), encoding="utf-8")

TRAPS = ("演练", "演习", "和服务", "招聘")
UNIT_NAMES = ("青山区", "滨江新区", "重点项目服务中心", "重点项目办", "区重点办")  # rules/00-*.yaml

CONTENT_TYPES = {
    ".xml": "application/rss+xml",      # no charset: the GBK feed must be detected
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/feed+json",
}


class FeedHandler(http.server.SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        if Path(path).suffix == ".html":   # no charset: the page's <meta> says it
            return "text/html"
        if "/api/" in Path(path).as_posix():
            return "application/json;charset=utf-8"
        return CONTENT_TYPES.get(Path(path).suffix, "application/octet-stream")

    def log_message(self, format: str, *args: object) -> None:  # keep the demo output clean
        pass


def start_server() -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(FeedHandler, directory=str(FEEDS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def yuqing(*args: str, config: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args],
                          capture_output=True, text=True, check=check)


def make_feeds(now: datetime) -> None:
    """The sample feeds with their items dated in the hours before ``now``, so that what
    the demo fetches, alerts and handles falls in one period (and in this year's report)."""
    from make_feeds import build

    for name, data in build(now).items():
        (FEEDS / name).parent.mkdir(parents=True, exist_ok=True)
        (FEEDS / name).write_bytes(data)


def manifest() -> list[dict[str, Any]]:
    """Every sample source, from ``feeds/manifest.json``: name, file (its path on the
    server), note, and for a page source its type and ``[feeds.select]``."""
    entries: list[dict[str, Any]] = json.loads((HERE / "feeds" / "manifest.json").read_text("utf-8"))
    return entries


def feed_list() -> list[tuple[str, str, str]]:
    """(name, file, note) of every sample source."""
    return [(e["name"], e["file"], e.get("note", "")) for e in manifest()]


def page_sources_toml(base: str) -> str:
    """The page sources as an admin writes them in the config (OPML cannot hold them)."""
    out = []
    for e in manifest():
        if e.get("type", "feed") == "feed":
            continue
        out += ["", "[[feeds]]", f"name = {json.dumps(e['name'], ensure_ascii=False)}",
                f"url = {json.dumps(base + '/' + e['file'])}",
                f"type = {json.dumps(e['type'])}", 'interval = "1m"', "[feeds.select]"]
        out += [f"{key} = {json.dumps(value, ensure_ascii=False)}"
                for key, value in e["select"].items()]
    return "\n".join(out) + "\n"


def main() -> int:
    print("== yuqing-monitor 演示 ==")
    if WORK.exists():
        shutil.rmtree(WORK)
    make_feeds(datetime.now(UTC).replace(microsecond=0))
    server, base = start_server()
    print(f"本地示例订阅源服务：{base}/（目录 {FEEDS.relative_to(HERE.parent)}，"
          "内容的发布时间按现在往前排）")
    subprocess.run([sys.executable, "-m", "monitor", "init", str(WORK)], check=True,
                   capture_output=True, text=True)
    config = WORK / "config" / "monitor.toml"
    feeds = feed_list()
    opml = WORK / "demo-feeds.opml"
    outlines = "\n".join(
        f'    <outline type="rss" text="{html.escape(e["name"])}" xmlUrl="{base}/{e["file"]}"/>'
        for e in manifest() if e.get("type", "feed") == "feed")
    opml.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head>'
                    f"<title>演示订阅源</title></head><body>\n{outlines}\n</body></opml>\n",
                    encoding="utf-8")
    yuqing("feeds", "import", str(opml), "--interval", "1m", config=config)
    robots = RobotReceiver().start()
    inbox = SmtpInbox().start()
    port = console_port()
    with config.open("a", encoding="utf-8") as f:
        f.write(page_sources_toml(base))
        f.write(alerting_config(robots, inbox))
    enable_console(config, port)
    for name, role in ACCOUNTS.items():
        subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "users",
                        "add", name, "--role", role, "--password-stdin", "--by", "演示"],
                       input=DEMO_PASSWORD + "\n", check=True, capture_output=True, text=True)
    print(f"已生成演示部署：{WORK.relative_to(HERE.parent)}（{len(feeds)} 个订阅源）")
    print(yuqing("config", "check", config=config).stdout.strip())
    show_try(config)

    print("\n启动守护进程 yuqing run …")
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **SECRETS})
    deadline = time.monotonic() + 60
    status: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        time.sleep(1)
        status = json.loads(yuqing("feeds", "status", "--json", config=config).stdout)
        if status and all(s["last_checked_at"] for s in status):
            break
    print(console_health(port))
    print(f"等待无人认领的事件在 {ESCALATE_AFTER} 秒后升级给李四 …")
    deadline = time.monotonic() + ESCALATE_AFTER + 30
    while time.monotonic() < deadline and not any(
            "lisi@demo.example" in m.rcpt_tos for m in inbox.messages):
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    server.shutdown()
    print(f"守护进程已停止（退出码 {proc.returncode}）\n")

    print("== 订阅源状态 ==")
    print(yuqing("feeds", "status", config=config).stdout.rstrip())
    print("\n== 抓取到的条目 ==")
    problems: list[str] = []
    for name, _, note in feeds:
        rows = json.loads(yuqing("items", "list", "--feed", name, "--limit", "100", "--json",
                                 config=config).stdout)
        print(f"\n【{name}】（{note}）{len(rows)} 条")
        if not rows:
            problems.append(f"订阅源「{name}」没有抓到条目，请查看上面的状态。")
        for r in rows:
            print(f"  · {r['title']}")
    scored = yuqing("items", "scored", "--min-level", "blue", "--limit", "100", config=config)
    print("\n== 规则命中：一般（蓝）及以上，按得分排序，〖〗内为命中词 ==")
    print(scored.stdout.rstrip())
    alerting = {r["id"] for r in json.loads(yuqing(
        "items", "scored", "--min-level", "blue", "--limit", "1000", "--json",
        config=config).stdout)}
    everything = json.loads(yuqing("items", "list", "--limit", "1000", "--json",
                                   config=config).stdout)
    traps = [r for r in everything if r["id"] not in alerting
             and any(w in r["title"] + r["body"] for w in TRAPS)]
    print("\n== 干扰项：含“演练”“演习”“和服务”“招聘”等字样，但没有触发告警级别的规则 ==")
    for r in traps:
        print(f"  · {r['title']}")
    if not show_local_mentions(config, inbox):
        problems.append("“本辖区或本单位的负面信息”规则没有按倾向区分负面信息与中性通知，请查看上面的记录。")
    if not show_page_sources(config, inbox):
        problems.append("网页与接口来源没有达到告警级别的条目或没有发出提醒，请查看上面的记录。")
    if not show_alerts(config, robots, inbox):
        problems.append("提醒环节没有按预期完成（转载合并、升级或验签），请查看上面的记录。")
    handle(config)
    if not write_reports(config):
        problems.append("年度报告没有全部生成，请查看上面的错误。")
    show_console(config, robots, port)
    robots.stop()
    inbox.stop()
    print(f"\n演示数据在 {WORK}；可继续尝试：")
    print(f"  .venv/bin/yuqing --config {config} incidents list")
    print(f"  .venv/bin/yuqing --config {config} alerts list")
    print(f"  .venv/bin/yuqing --config {config} items search 施工")
    print(f"  .venv/bin/yuqing --config {config} rules test --title '某工地农民工讨薪'")
    for problem in problems:
        print(f"\n{problem}", file=sys.stderr)
    return 1 if problems else 0


def show_local_mentions(config: Path, inbox: SmtpInbox) -> bool:
    """Items naming the unit: the negative ones match local-mention (tone: negative) and
    alert; the neutral announcements naming it do not."""
    print("\n== 提及本单位：负面的告警，中性的通知和会议报道不告警（规则 local-mention，tone: negative） ==")
    rows = json.loads(yuqing("items", "list", "--limit", "1000", "--json", config=config).stdout)
    subjects = [m.subject for m in inbox.messages]
    wrong, negative, quiet, alerted = [], 0, 0, 0
    for r in rows:
        if not any(n in r["title"] + (r["body"] or "") for n in UNIT_NAMES):
            continue
        doc = json.loads(yuqing("items", "show", str(r["id"]), "--json", config=config).stdout)
        tone = doc["tone"]
        hit = any(m["rule"] == "local-mention" for m in doc["stored"]["matches"])
        mailed = any(r["title"][:12] in t for t in subjects)
        words = "".join(f"〖{p}〗" for p in distinct_phrases(tone["phrases"])[:3]
                        ) if tone["label"] == "negative" else ""
        label = {"negative": "负面", "neutral": "中性", "positive": "正面"}.get(
            tone["label"], "未判定")
        if tone["label"] == "negative":
            negative += 1
            alerted += mailed
            mark = ("告警" if mailed else "命中") if hit else "✗ 未命中"
        else:
            quiet += not hit
            mark = "✗ 命中" if hit else "不告警"
        if hit != (tone["label"] == "negative"):
            wrong.append(r["title"])
        prob = " —" if tone["negative"] is None else f" {tone['negative']:.2f}"
        print(f"  · [{label}，负面概率{prob}] {mark}  {r['title']}  {words}")
    return bool(negative) and bool(quiet) and bool(alerted) and not wrong


def show_page_sources(config: Path, inbox: SmtpInbox) -> bool:
    """The page sources' items at yellow or above, and the mails sent about them."""
    print("\n== 网页与接口来源：与订阅源一样评分、合并成事件并告警 ==")
    rows = json.loads(yuqing("items", "scored", "--min-level", "yellow", "--limit", "1000",
                             "--json", config=config).stdout)
    subjects = [m.subject for m in inbox.messages]
    alerted = 0
    for e in manifest():
        if e.get("type", "feed") == "feed":
            continue
        hits = [r for r in rows if r["feed"] == e["name"]]
        mails = [t for t in subjects if any(r["title"][:12] in t for r in hits)]
        alerted += len(mails)
        print(f"  【{e['name']}】达到告警级别 {len(hits)} 条，提醒 {len(mails)} 封")
        for r in hits:
            print(f"    · [{r['score']:>3}] {r['title']}")
    return alerted > 0


def show_try(config: Path) -> None:
    """What an admin sees when trying a page source before the daemon stores anything."""
    page = next(e for e in manifest() if e.get("type") == "html")
    print(f"\n== 试抓网页来源：yuqing feeds test {page['name']}（不保存任何内容） ==")
    r = yuqing("feeds", "test", page["name"], config=config, check=False)
    lines = (r.stdout + r.stderr).rstrip().splitlines()
    shown = lines[:12] + (["  ……", *lines[-1:]] if len(lines) > 13 else lines[12:])
    print("\n".join("  " + line for line in shown))


def show_alerts(config: Path, robots: RobotReceiver, inbox: SmtpInbox) -> bool:
    """The incidents, then every recipient's inbox, then acknowledging one."""
    print("\n== 舆情事件：同一事件被多家转载只算一起 ==")
    print(yuqing("incidents", "list", config=config).stdout.rstrip())
    incidents = json.loads(yuqing("incidents", "list", "--json", config=config).stdout)
    spread = [i for i in incidents if i["sources"] >= 3]
    for inc in spread:
        print(f"\n事件 #{inc['id']}「{inc['title']}」：{inc['items']} 条条目、{inc['sources']} 个来源")
        shown = yuqing("incidents", "show", str(inc["id"]), config=config).stdout
        print("\n".join("  " + line for line in shown.rstrip().splitlines()))

    print("\n== 收件箱：本地邮件服务器 ==")
    for mail in inbox.messages:
        print(f"  → {', '.join(mail.rcpt_tos)}：{mail.subject}")
    names = {"dingtalk": "钉钉", "feishu": "飞书", "wecom": "企业微信", "webhook": "Webhook"}
    received = robots.received()
    counts = "、".join(f"{names[p]} {sum(r.platform == p for r in received)} 条" for p in names)
    print(f"\n== 收件箱：本地群机器人与 Webhook（均已验签）：{counts} ==")
    titles = [e["title"] for i in spread for e in json.loads(yuqing(
        "incidents", "show", str(i["id"]), "--json", config=config).stdout)["entries"]]
    print("其中关于转载扩散事件的：")
    for r in received:
        line = _robot_title(r.platform, r.body)
        if any(t[:10] in line for t in titles):
            print(f"  → {names[r.platform]}：{line}")
    # every incident alert (mail or robot) says its tone and the phrases behind it
    bodies = [m.text or "" for m in inbox.messages] + [
        json.dumps(r.body, ensure_ascii=False) for r in received]
    alerts = [b for b in bodies if "首次发现" in b]
    toned = [b for b in alerts if "倾向：" in b.replace("**", "")]  # markdown bolds the label
    print(f"\n== 告警写明倾向：{len(toned)} / {len(alerts)} 条事件告警写明了倾向和依据 ==")
    for b in toned[:1]:
        line = next(ln for ln in b.replace("\\n", "\n").splitlines() if "倾向" in ln)
        print(f"  例：{line.strip()}")
    rejected = robots.rejected()
    print(f"\n接收端拒收 {len(rejected)} 条（签名错误、格式不符或超长都会被拒收）")
    for r in rejected:
        print(f"  ✗ {names.get(r.platform, r.platform)}：{r.answer}")

    escalated = [m for m in inbox.messages if "lisi@demo.example" in m.rcpt_tos]
    print(f"\n== 升级：无人认领 {ESCALATE_AFTER} 秒后通知李四 ==")
    for m in escalated:
        print(f"  → 李四：{m.subject}")
    open_ones = [i for i in incidents if i["status"] == "open"]
    if open_ones:
        first = open_ones[0]
        r = yuqing("incidents", "ack", str(first["id"]), "--by", "张三", "--note", "已联系项目部核实",
                   config=config, check=False)
        print(f"\n认领事件 #{first['id']}：{(r.stdout or r.stderr).strip()}")
    print("\n== 发件箱（最近 10 条） ==")
    print(yuqing("alerts", "list", "--limit", "10", config=config).stdout.rstrip())
    return bool(spread) and bool(escalated) and not rejected and len(toned) == len(alerts)


# What the staff did about some incidents (by category): the outcome and the handling note
HANDLING = {
    "欠薪讨薪": ("已回应", "已督促施工单位当日结清拖欠工资，并在网络问政平台公开答复"),
    "网络谣言": ("已澄清辟谣", "经住建部门检测桥梁结构安全，已会同区融媒体中心发布澄清说明"),
    "交通出行": ("转办", "已转区交通运输局办理，协调增设临时公交接驳"),
    "环境扰民": ("误报", "系对施工许可时段的咨询，不涉及本单位负面舆情"),
}


def handle(config: Path) -> None:
    """The monitoring staff handle some incidents through the CLI, as they would."""
    print("\n== 处置：监测人员认领并办结部分事件 ==")
    incidents = json.loads(yuqing("incidents", "list", "--json", config=config).stdout)
    done: set[str] = set()
    for inc in sorted(incidents, key=lambda i: i["id"]):
        if inc["category"] not in HANDLING or inc["category"] in done:
            continue
        done.add(inc["category"])
        outcome, note = HANDLING[inc["category"]]
        if inc["status"] == "open":
            yuqing("incidents", "ack", str(inc["id"]), "--by", "张三", config=config,
                   check=False)
        r = yuqing("incidents", "resolve", str(inc["id"]), "--by", "张三", "--outcome", outcome,
                   "--note", note, config=config, check=False)
        print(f"  #{inc['id']}「{inc['title']}」：{(r.stdout or r.stderr).strip()}")


def console_health(port: int) -> str:
    """What the daemon's console answers on /healthz while it runs."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            doc = json.loads(r.read())
    except urllib.error.HTTPError as e:             # 503: something is unhealthy
        doc = json.loads(e.read())
    except OSError as e:
        return f"控制台没有响应：{e}"
    parts = {"fetching": "抓取", "delivery": "发送", "database": "数据库"}
    return "控制台 /healthz：" + "，".join(
        f"{name}{'正常' if doc.get(k, {}).get('ok') else '异常'}" for k, name in parts.items())


def show_console(config: Path, robots: RobotReceiver, port: int) -> None:
    """How to open the console on the demo's data, and a one-tap link from an alert."""
    open_ids = {i["id"] for i in json.loads(yuqing("incidents", "list", "--status", "open",
                                                   "--json", config=config).stdout)}
    link = next((r.body["url"] for r in robots.received() if r.platform == "webhook"
                 and r.body.get("incident") in open_ids and r.body.get("url")), None)
    print("\n== 网页控制台 ==")
    print("  启动：make console（等同于 YUQING_WEB_SECRET=… .venv/bin/yuqing "
          f"--config {config.relative_to(HERE.parent)} web），Ctrl-C 停止")
    print(f"  地址：http://127.0.0.1:{port}/")
    print("  账号：" + "、".join(f"{n}（{r}）" for n, r in ACCOUNTS.items())
          + f"，密码均为 {DEMO_PASSWORD}")
    if link:
        print(f"  张三的 Webhook 收到的一键认领链接（手机打开即可认领，无需密码）：\n  {link}")


def write_reports(config: Path) -> bool:
    """The report writer's step: this year's report section, in every format."""
    year = str(_beijing_year())
    out = WORK / "out"
    out.mkdir(exist_ok=True)
    print(f"\n== 年度报告：yuqing report annual --year {year} ==")
    ok = True
    for fmt in ("docx", "md", "html"):
        target = out / f"舆情工作报告-{year}.{fmt}"
        r = yuqing("report", "annual", "--year", year, "--format", fmt, "-o", str(target),
                   config=config, check=False)
        for line in (r.stdout + r.stderr).strip().splitlines():
            print(f"  {line}")
        ok = ok and r.returncode == 0 and target.exists()
    md = out / f"舆情工作报告-{year}.md"
    if md.exists():
        opening = next((line for line in md.read_text("utf-8").splitlines()
                        if line.strip() and not line.startswith("#")), "")
        if opening:
            print(f"  开篇：{opening.strip()[:200]}")
    print(f"  报告在 {out}（docx 可直接粘贴进单位的年度报告）")
    return ok


def _beijing_year() -> int:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).year


def _robot_title(platform: str, body: dict[str, Any]) -> str:
    """The first line of what a robot or webhook received."""
    if platform == "webhook":
        return (f"【{body.get('level_name')}】{body.get('category')}：{body.get('title')}"
                f"（{body.get('kind_name')}，事件 #{body.get('incident')}）")
    if platform == "dingtalk":
        return str(body["markdown"]["title"])
    if platform == "feishu":
        return str(body.get("content", {}).get("post", {}).get("zh_cn", {}).get("title", ""))
    return str(body["markdown"]["content"]).splitlines()[0].strip("# ")

if __name__ == "__main__":
    sys.exit(main())
