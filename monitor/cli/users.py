"""``yuqing users``: web-console accounts (add, list, passwd, role, disable, enable). The
password is read from stdin (``--password-stdin``) or asked for without echo, never taken
as an argument (it would sit in the shell history and the process list)."""

from __future__ import annotations

import sys

import click

from ..models import ROLES
from ..timefmt import for_json, for_people
from .app import Invocation, cli_actor, emit_json, main, open_store, pass_invocation
from .incidents import now, table
from .options import JSON_OPTION

ROLE_HELP = "、".join(f"{k}（{v}）" for k, v in ROLES.items())


@main.group("users")
def users() -> None:
    """控制台账号：监测人员（staff）处置舆情，管理员（admin）另管规则、订阅源、用户和静默，
    报告撰写人（reporter）查看一切、生成报告，不能改动。

    \b
    示例：
      echo '密码' | yuqing users add 张三 --role staff --password-stdin
      yuqing users list
      yuqing users passwd 张三
      yuqing users disable 张三
    """


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return str(click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次"))


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, metavar="角色", help=f"角色：{ROLE_HELP}")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为密码（脚本用）")
@click.option("--by", default=None, metavar="姓名", help="操作人（记入审计日志；默认当前登录名）")
@pass_invocation
def users_add(state: Invocation, name: str, role: str, password_stdin: bool,
              by: str | None) -> None:
    """添加控制台账号；NAME 可与 [[staff]] 中的姓名相同（提醒链接即以此人身份认领）。

    示例：echo 'a-long-password' | yuqing users add 张三 --role staff --password-stdin
    """
    from .. import accounts

    password = _password(password_stdin)
    with open_store(state, create=True) as store:
        user = accounts.add_user(store, name, role, password, by=cli_actor(by), now=now())
    staff = state.config.person(user.name)
    click.echo(f"已添加用户 {user.name}（{ROLES[user.role]}）"
               + ("" if staff else "；提示：值班名单 [[staff]] 中没有同名人员"))


@users.command("list")
@JSON_OPTION
@pass_invocation
def users_list(state: Invocation, as_json: bool) -> None:
    """列出控制台账号。示例：yuqing users list"""
    with open_store(state) as store:
        rows = store.list_users()
    if as_json:
        emit_json([{"name": u.name, "role": u.role, "active": u.active,
                    "locked_until": for_json(u.locked_until),
                    "last_login_at": for_json(u.last_login_at),
                    "created_at": for_json(u.created_at)} for u in rows])
        return
    if not rows:
        click.echo("还没有控制台账号（用 yuqing users add 添加）")
        return
    t = now()
    table(["用户", "角色", "状态", "最近登录", "创建"],
          [[u.name, ROLES.get(u.role, u.role),
            "停用" if not u.active else ("锁定至 " + for_people(u.locked_until)
                                        if u.locked_until and u.locked_until > t else "正常"),
            for_people(u.last_login_at), for_people(u.created_at)] for u in rows])


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为密码（脚本用）")
@click.option("--by", default=None, metavar="姓名", help="操作人（记入审计日志）")
@pass_invocation
def users_passwd(state: Invocation, name: str, password_stdin: bool, by: str | None) -> None:
    """修改密码（并解除锁定）；此前登录的会话全部失效。示例：yuqing users passwd 张三"""
    from .. import accounts

    password = _password(password_stdin)
    with open_store(state, create=True) as store:
        accounts.set_password(store, name, password, by=cli_actor(by), now=now())
    click.echo(f"已修改 {name} 的密码，原有登录已失效")


@users.command("role")
@click.argument("name")
@click.argument("role", metavar="ROLE")
@click.option("--by", default=None, metavar="姓名", help="操作人（记入审计日志）")
@pass_invocation
def users_role(state: Invocation, name: str, role: str, by: str | None) -> None:
    """修改角色（staff、admin、reporter）。示例：yuqing users role 张三 admin"""
    from .. import accounts

    with open_store(state, create=True) as store:
        accounts.set_role(store, name, role, by=cli_actor(by), now=now())
        user = store.get_user(name)
    assert user is not None
    click.echo(f"{name} 的角色现为 {ROLES[user.role]}")


@users.command("disable")
@click.argument("name")
@click.option("--by", default=None, metavar="姓名", help="操作人（记入审计日志）")
@pass_invocation
def users_disable(state: Invocation, name: str, by: str | None) -> None:
    """停用账号，其登录立即失效。示例：yuqing users disable 张三"""
    from .. import accounts

    with open_store(state, create=True) as store:
        accounts.set_active(store, name, False, by=cli_actor(by), now=now())
    click.echo(f"已停用 {name}")


@users.command("enable")
@click.argument("name")
@click.option("--by", default=None, metavar="姓名", help="操作人（记入审计日志）")
@pass_invocation
def users_enable(state: Invocation, name: str, by: str | None) -> None:
    """重新启用账号（同时解除锁定）。示例：yuqing users enable 张三"""
    from .. import accounts

    with open_store(state, create=True) as store:
        accounts.set_active(store, name, True, by=cli_actor(by), now=now())
    click.echo(f"已启用 {name}")
