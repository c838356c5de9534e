"""``serve``, ``init`` and ``db``: running and maintaining an instance."""

from __future__ import annotations

import gc
import logging
import signal
import time
import warnings
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from sandbox import migrate
from sandbox.cli.errors import CommandError
from sandbox.errors import DomainError
from sandbox.instance import DEMO_LOGINS_FILE, InitReport, initialise, reset
from sandbox.roles import ROLES


def _runtime():
    return current_app.extensions["bankdrill"]


def _print_report(report: InitReport) -> None:
    if not report.created:
        if report.migrated:
            before, after = report.migrated
            click.echo(f"实例已初始化；已应用待执行的数据库迁移（{before or '空库'} → {after}）。")
        else:
            click.echo("实例已初始化，数据库已是最新版本。")
        return
    click.echo("已创建数据库结构。")
    for step in report.steps:
        click.echo(f"  · {step}")
    if report.demo_logins:
        click.echo(f"演示账号（也保存在实例目录的 {DEMO_LOGINS_FILE} 中）：")
        for username, role, password in report.demo_logins:
            label = ROLES.get(role, role)
            click.echo(f"  {label}{'　' * (3 - len(label))}  {username:<12} 密码 {password}")


def _initialise(seed: bool = True) -> InitReport:
    try:
        return initialise(_runtime(), seed=seed)
    except DomainError as exc:
        raise CommandError(exc.message) from exc


def _warm_up() -> None:
    """Load the search index, the model and the scenario catalogue before the first request, then freeze the heap.

    Everything loaded here lives as long as the server; gc.freeze() moves it out of the
    collector's way, so a full collection scans only what requests create (a 40-75 ms pause
    with 8 threads waiting, measured under the load benchmark, before this).
    """
    from knowledge_base.search import get_kb
    from sandbox.drill.scenario.store import list_scenarios

    get_kb(_runtime()).search("信用卡账单", limit=1)
    with _runtime().session_factory() as session:
        list_scenarios(session)  # the scenario catalogue, parsed once before the first request
    gc.collect()
    gc.freeze()


class QueueDepthThrottle(logging.Filter):
    """Lets waitress's "Task queue depth is N" through at most once per ``interval`` seconds.

    With one worker thread a request waiting behind another is the normal case, not a sign of
    trouble; the message stays as a "the server is busy" signal without filling the log."""

    def __init__(self, interval: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self._monotonic = monotonic
        self._last: float | None = None
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._monotonic()
        if self._last is not None and now - self._last < self.interval:
            self.suppressed += 1
            return False
        self._last = now
        if self.suppressed:
            record.msg = f"{record.msg} (and {self.suppressed} more since the last report)"
            self.suppressed = 0
        return True


# One worker thread per process, by measurement (benchmarks/load/RESULTS.md, "Threads per
# process"): on 2 cores the realistic 200-candidate load had a p95 of 89 ms with one thread
# against 510 ms with four (SQLite; PostgreSQL × 2: 77 against 360 ms), because CPU-bound
# request threads queue on the interpreter lock in turns of 5 ms. More threads only help while
# requests wait on I/O.
DEFAULT_THREADS = 1

# Waitress's worker thread sends a response itself as soon as it holds ``send_bytes`` bytes
# (default 1), holding the channel's output lock; meanwhile the main loop finds the socket
# writable, cannot take the lock, and turns over every open connection until the interpreter's
# 5 ms switch interval forces it off: up to one switch interval per response under a herd.
# Above any ordinary response's size, the worker only queues the response and the main loop
# sends it (a 64 KiB download still streams: the worker sends each 64 KiB itself). Measured
# with benchmarks/load/bare_herd.py (200 requests on one beat, 1 ms each, one worker thread): p95
# 1,369 → 250 ms, the main thread's share of the CPU 69 → 9 % (RESULTS.md, "Who sends the response").
SEND_BYTES = 65536


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=5000, show_default=True, type=int, help="端口")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=click.IntRange(1, 256),
              help="每个进程的工作线程数（实测 1 个最快，见 benchmarks/load/RESULTS.md；"
                   "长时间操作如大批量导入请用命令行或另开进程）")
@click.option("--connections", default=1000, show_default=True, type=click.IntRange(10, 100000),
              help="同时保持的连接数上限（每个打开的浏览器占一个；waitress 默认只有 100）")
@with_appcontext
def serve(host: str, port: int, threads: int, connections: int) -> None:
    """用 waitress 启动沙箱（首次启动时自动建库、导入种子数据并建立索引）。"""
    import waitress

    report = _initialise()
    _print_report(report)
    _warm_up()
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"沙箱已启动：http://{shown_host}:{port}/  （Ctrl+C 停止）", color=False)
    if not report.created:
        click.echo(f"演示账号见实例目录中的 {DEMO_LOGINS_FILE}。")
    # SIGTERM (a service manager stopping the server) ends it like Ctrl+C: the runtime is
    # disposed, so the search log's last batch is written (knowledge_base.search_log).
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    queue_log = logging.getLogger("waitress.queue")
    if not any(isinstance(f, QueueDepthThrottle) for f in queue_log.filters):
        queue_log.addFilter(QueueDepthThrottle())
    try:
        waitress.serve(current_app._get_current_object(), **waitress_settings(host, port, threads, connections))
    finally:
        _runtime().dispose()


def waitress_settings(host: str, port: int, threads: int, connections: int) -> dict[str, Any]:
    """What ``bankdrill serve`` gives waitress. ``send_bytes`` only while waitress still has the
    setting (deprecated since 3.0 but honoured), with its deprecation warning silenced."""
    from waitress.adjustments import Adjustments

    settings: dict[str, Any] = {"host": host, "port": port, "threads": threads, "connection_limit": connections,
                                "ident": "bankdrill", "clear_untrusted_proxy_headers": True}
    if hasattr(Adjustments, "send_bytes"):
        warnings.filterwarnings("ignore", message="send_bytes", category=DeprecationWarning)
        settings["send_bytes"] = SEND_BYTES
    return settings


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@click.command("init")
@click.option("--reset", "do_reset", is_flag=True, help="清空数据库和索引后重新初始化")
@click.option("--no-seed", is_flag=True, help="只建库，不导入种子数据和演示账号")
@click.option("--yes", is_flag=True, help="不再确认（配合 --reset）")
@with_appcontext
def init(do_reset: bool, no_seed: bool, yes: bool) -> None:
    """初始化实例：应用迁移、导入种子数据、建立检索索引。"""
    if do_reset:
        if not yes and not click.confirm("这会删除本实例的全部数据（含考试成绩），确定继续吗？", default=False):
            raise CommandError("已取消，未做任何改动。")
        try:
            reset(_runtime())
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        click.echo("已清空实例数据。")
    _print_report(_initialise(seed=not no_seed))


@click.group("db")
def db_group() -> None:
    """数据库迁移（Alembic）。"""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """应用全部待执行的迁移。"""
    runtime = _runtime()
    from sandbox.db import check_connection

    try:
        check_connection(runtime.engine)
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    migrate.upgrade(runtime.settings.database_url)
    click.echo(f"数据库已升级到 {migrate.current_revision(runtime.engine)}。")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """显示数据库当前版本与代码中的最新版本。"""
    runtime = _runtime()
    click.echo(f"当前：{migrate.current_revision(runtime.engine) or '（空库）'}；最新：{migrate.head_revision()}")


@db_group.command("check")
@with_appcontext
def db_check() -> None:
    """检查模型与迁移是否一致。"""
    try:
        migrate.check(_runtime().settings.database_url)
    except Exception as exc:  # alembic raises its own AutogenerateDiffsDetected
        raise CommandError(f"模型与迁移不一致：{exc}") from exc
    click.echo("模型与迁移一致。")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """（开发者）根据模型变化自动生成迁移。"""
    migrate.revision(_runtime().settings.database_url, message)
