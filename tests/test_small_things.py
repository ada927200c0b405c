"""Issue 12 point 9 through the real CLI: deleting twice and who deleted what, OPML
folders and the skipped list, ``init`` over a partly filled directory."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.support import FIXTURES, Cli, run_yuqing, write_config


def _one_item(tmp_path: Path, httpserver) -> tuple[Cli, dict]:
    rss = (FIXTURES / "feeds" / "rss20_utf8.xml").read_bytes()
    httpserver.expect_request("/a.xml").respond_with_data(rss, content_type="application/xml")
    cli = Cli(write_config(tmp_path, feeds=[{"name": "融媒体", "url": httpserver.url_for("/a.xml")}]))
    assert cli.json("fetch")["new_items"] > 0
    return cli, cli.json("items", "list")[0]


def test_deleting_twice_says_who_deleted_it_and_when(tmp_path, httpserver):
    cli, item = _one_item(tmp_path, httpserver)
    first = cli("items", "delete", str(item["id"]), "--by", "张三")
    assert first.exit_code == 0 and "已删除 1 条" in first.stdout and "张三" in first.stdout
    again = cli("items", "delete", str(item["id"]), "--by", "李四")
    assert again.exit_code == 0, again.output
    assert f"条目 {item['id']} 已于 " in again.stdout and "由 张三 删除" in again.stdout
    assert "已删除 1 条" not in again.stdout


def test_a_deletion_is_in_the_audit_log_with_the_actor_and_the_title(tmp_path, httpserver,
                                                                       monkeypatch):
    cli, item = _one_item(tmp_path, httpserver)
    assert cli("items", "delete", str(item["id"]), "--by", "王五").exit_code == 0
    events = cli.json("log", "list", "--kind", "item.deleted")
    assert len(events) == 1
    assert events[0]["actor"] == "王五" and events[0]["subject"] == str(item["id"])
    assert events[0]["details"] == {"title": item["title"]}
    # without --by: the login name
    monkeypatch.setenv("USER", "duty-officer")
    other = cli.json("items", "list")[0]
    assert cli("items", "delete", str(other["id"])).exit_code == 0
    actors = [e["actor"] for e in cli.json("log", "list", "--kind", "item.deleted")]
    assert actors == ["王五", "duty-officer"]


TWO_FOLDERS = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>t</title></head><body>
<outline text="政务"><outline text="区政府网站" type="rss" xmlUrl="http://127.0.0.1:1/gov.xml"/>
<outline text="街道"><outline text="城东街道" type="rss" xmlUrl="http://127.0.0.1:1/east.xml"/>
</outline></outline>
<outline text="媒体"><outline text="区融媒体中心" type="rss" xmlUrl="http://127.0.0.1:1/media.xml"/>
</outline>
<outline text="散的" type="rss" xmlUrl="http://127.0.0.1:1/loose.xml"/>
</body></opml>"""


def test_opml_folders_round_trip_as_groups_and_export_is_indented(tmp_path):
    opml = tmp_path / "in.opml"
    opml.write_text(TWO_FOLDERS, "utf-8")
    config = write_config(tmp_path / "a")
    r = Cli(config)("feeds", "import", str(opml))
    assert r.exit_code == 0, r.output
    feeds = tomllib.loads(config.read_text("utf-8"))["feeds"]
    groups = {f["name"]: f.get("group") for f in feeds}
    assert groups == {"区政府网站": "政务", "城东街道": "政务/街道", "区融媒体中心": "媒体",
                      "散的": None}
    assert "分组 政务" in r.stdout
    out = tmp_path / "out.opml"
    assert Cli(config)("feeds", "export", "-o", str(out)).exit_code == 0
    text = out.read_text("utf-8")
    assert "\n  <body>\n" in text and "\n      <outline " in text  # indented, nested
    config2 = write_config(tmp_path / "b")
    assert Cli(config2)("feeds", "import", str(out)).exit_code == 0
    again = tomllib.loads(config2.read_text("utf-8"))["feeds"]
    assert {f["name"]: f.get("group") for f in again} == groups
    assert run_yuqing("--config", str(config2), "config", "check").returncode == 0


def test_opml_import_names_everything_it_skipped(tmp_path):
    config = write_config(tmp_path, feeds=[{"name": "已有", "url": "http://127.0.0.1:1/a.xml"}])
    opml = tmp_path / "in.opml"
    opml.write_text("""<opml version="2.0"><body>
<outline text="新的" xmlUrl="http://127.0.0.1:1/new.xml"/>
<outline text="同一地址" xmlUrl="http://127.0.0.1:1/a.xml"/>
<outline text="隐去密钥" xmlUrl="http://127.0.0.1:1/x.xml?token=***"/>
<outline text="只是说明"/>
<outline text="坏地址" xmlUrl="feed://example.org/rss"/>
</body></opml>""", "utf-8")
    r = Cli(config)("feeds", "import", str(opml))
    assert r.exit_code == 0, r.output
    assert "跳过 同一地址  http://127.0.0.1:1/a.xml：地址已在配置中" in r.stdout
    assert "跳过 只是说明：没有 xmlUrl" in r.stdout
    assert "未导入 隐去密钥" in r.stderr and "密钥已隐去" in r.stderr
    assert "未导入 坏地址" in r.stderr
    assert "导入 1 个，已存在 1 个，无效 2 个，没有地址 1 个" in r.stdout
    names = [f["name"] for f in tomllib.loads(config.read_text("utf-8"))["feeds"]]
    assert names == ["已有", "新的"]


def test_init_over_a_partly_filled_directory_keeps_the_edited_config(tmp_path):
    target = tmp_path / "srv"
    assert run_yuqing("init", str(target)).returncode == 0
    cfg = target / "config" / "monitor.toml"
    edited = cfg.read_text("utf-8") + "\n# 本单位已改过\n"
    cfg.write_text(edited, "utf-8")
    rules = sorted((target / "rules").iterdir())
    kept_rule, lost_rule = rules[0], rules[1]
    lost_rule.unlink()
    (target / "logs").rmdir()
    r = run_yuqing("init", str(target))
    assert r.returncode == 0, r.stderr
    assert cfg.read_text("utf-8") == edited
    assert f"已保留 {cfg}（已存在，未改动）" in r.stdout
    assert f"已保留 {kept_rule}" in r.stdout
    assert f"已创建 {lost_rule}" in r.stdout and f"已创建 {target / 'logs'}" in r.stdout
    assert lost_rule.exists() and (target / "logs").is_dir()
    assert r.stdout.count("已创建") == 2
