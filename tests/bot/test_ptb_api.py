"""python-telegram-bot through its public API only (issue #28 item 3), so that a PTB upgrade,
a security fix included, cannot break delivery silently: no import of a ``telegram`` module
whose name starts with ``_``, no ``_private`` attribute the project does not define itself,
read from every module's source as tests/test_rooms.py reads imports; and the 429 wait read
from RetryAfter's public ``retry_after``, whichever type PTB gives it."""

from __future__ import annotations

import ast
import asyncio
import logging
import time
from pathlib import Path

import pytest
import telegram
from telegram.error import BadRequest, NetworkError, RetryAfter

from lookalike.bot.app import UjsonRequest
from lookalike.bot.telegram_retry import BotRateLimiter
from tests.support.bot_api import FakeBotApi
from tests.support.data import ROOT

SOURCES = [*sorted((ROOT / "lookalike").rglob("*.py")), ROOT / "bot.py"]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_telegram_imports(tree: ast.AST) -> list[str]:
    """``import telegram.ext._updater``, ``from telegram.ext._utils.x import y``,
    ``from telegram.ext import _updater``: each import of a private part of PTB."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [m for m in modules if m.split(".")[0] == "telegram" and any(map(_private, m.split(".")))]
    return found


def own_private_names(trees: list[ast.AST]) -> set[str]:
    """The ``_names`` the project defines: functions, classes, attributes it assigns, slots."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {name for name in names if _private(name)}


def foreign_private_attributes(tree: ast.AST, own: set[str]) -> list[str]:
    """``something._name`` where the project never defines ``_name``: a library's private part."""
    return [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own
    ]


def uses_telegram(tree: ast.AST) -> bool:
    return any(
        (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "telegram" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "telegram")
        for node in ast.walk(tree)
    )


def test_no_module_imports_a_private_part_of_python_telegram_bot():
    assert len(SOURCES) > 50
    found = [f"{path.relative_to(ROOT)}: {m}" for path in SOURCES for m in private_telegram_imports(_parse(path))]
    assert found == []


def test_no_module_that_uses_telegram_reads_a_private_attribute_it_does_not_define():
    trees = {path: _parse(path) for path in SOURCES}
    own = own_private_names(list(trees.values()))
    telegram_modules = [path for path, tree in trees.items() if uses_telegram(tree)]
    assert len(telegram_modules) >= 7
    found = [
        f"{path.relative_to(ROOT)} {where}"
        for path in telegram_modules
        for where in foreign_private_attributes(trees[path], own)
    ]
    assert found == []


def test_the_checks_see_what_the_webhook_once_did():
    """The code this replaced: PTB's webhook application class patched, and RetryAfter's and
    AIORateLimiter's private fields read."""
    old = ast.parse(
        "from telegram.ext import _updater\n"
        "from telegram.ext._utils.webhookhandler import TelegramHandler\n"
        "import telegram._bot\n"
        "def wait(exc, limiter):\n"
        "    return exc._retry_after.total_seconds() + limiter._max_retries\n"
    )
    assert private_telegram_imports(old) == [
        "telegram.ext._updater",
        "telegram.ext._utils.webhookhandler",
        "telegram.ext._utils.webhookhandler.TelegramHandler",
        "telegram._bot",
    ]
    assert foreign_private_attributes(old, own=set()) == ["line 5: ._max_retries", "line 5: ._retry_after"]
    assert (
        foreign_private_attributes(
            ast.parse("class A:\n    _x = 1\n    def f(self):\n        return self._x\n"),
            own_private_names([ast.parse("_x = 1")]),
        )
        == []
    )


def _parse(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ RetryAfter's public retry_after


class _OnceTooMany:
    """A Bot API call answered 429 "retry after ``seconds``" the first time, then done."""

    def __init__(self, seconds: int):
        self.seconds, self.calls = seconds, []

    async def __call__(self) -> str:
        self.calls.append(time.monotonic())
        if len(self.calls) == 1:
            raise RetryAfter(self.seconds)
        return "done"


@pytest.mark.parametrize("timedelta", ["false", "true"])
def test_a_call_to_no_chat_waits_out_the_429_telegram_asked_for(monkeypatch, timedelta):
    """getFile, answerCallbackQuery... (no chat_id): outside the sends' pauses, waiting out
    Telegram's retry_after, given as seconds or as a timedelta (PTB_TIMEDELTA, PTB's next major)."""
    monkeypatch.setenv("PTB_TIMEDELTA", timedelta)
    call = _OnceTooMany(seconds=1)

    async def process() -> str:
        limiter = BotRateLimiter(retry_seconds=10, max_retries=2)
        return await limiter.process_request(call, (), {}, "getFile", {"file_id": "x"}, None)

    assert asyncio.run(process()) == "done"
    assert len(call.calls) == 2
    assert 1.0 <= call.calls[1] - call.calls[0] < 1.5


class _TooManyFor:
    """A Bot API call answered 429 "retry after ``seconds``" its first ``times`` calls (a storm)."""

    def __init__(self, times: int, seconds: int):
        self.times, self.seconds, self.calls = times, seconds, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.times:
            raise RetryAfter(self.seconds)
        return "sent"


@pytest.mark.parametrize(("endpoint", "data"), [("sendPhoto", {"chat_id": 7}), ("getFile", {"file_id": "x"})])
def test_a_429_storm_longer_than_the_limiter_s_retries_is_waited_out_within_the_retry_budget(endpoint, data, caplog):
    """PTB's limiter gives up after max_retries 429s, and the answer was lost; the waits now count
    against TELEGRAM_RETRY_SECONDS instead, like a 5xx outage's, without PTB's traceback."""
    call = _TooManyFor(times=3, seconds=1)

    async def process() -> str:
        limiter = BotRateLimiter(retry_seconds=30, max_retries=1)
        return await limiter.process_request(call, (), {}, endpoint, data, None)

    with caplog.at_level(logging.INFO):
        assert asyncio.run(process()) == "sent"
    assert call.calls == 4

    over_budget = _TooManyFor(times=100, seconds=1)

    async def hopeless() -> str:
        limiter = BotRateLimiter(retry_seconds=2, max_retries=1)
        return await limiter.process_request(over_budget, (), {}, endpoint, data, None)

    with pytest.raises(RetryAfter):
        asyncio.run(hopeless())
    assert over_budget.calls < 5


@pytest.mark.asyncio
async def test_the_bot_s_requests_tell_when_telegram_fails_a_call():
    """5xx, 429 and a network failure each count as Telegram failing (admission then leaves the
    delays out of the bot's own pace); an answer, or a 400, does not."""
    failures: list[int] = []
    with FakeBotApi() as api:
        bot = telegram.Bot(
            api.token, base_url=f"{api.url}/bot", request=UjsonRequest(on_failure=lambda: failures.append(1))
        )
        async with bot:
            api.fail_next("getMe", status=500)
            with pytest.raises(NetworkError):
                await bot.get_me()
            api.fail_next("getMe", status=429)
            with pytest.raises(RetryAfter):
                await bot.get_me()
            with pytest.raises(BadRequest):
                await bot.send_message(1, "to a chat that does not exist")
            assert len(failures) == 2
            api.stop()  # the server gone: a network failure
            with pytest.raises(NetworkError):
                await bot.get_me()
    assert len(failures) == 3


@pytest.mark.asyncio
async def test_the_bot_tells_the_answering_room_when_telegram_fails_a_call():
    """The application's requests tell ``Services.upstream``, which admission's reckoning reads:
    left unwired, Telegram's outages would count as the bot's own slowness."""
    from lookalike.answering.services import Services
    from lookalike.bot.app import build_application
    from lookalike.bot.config import Config
    from lookalike.bot.delivery import Deliveries

    token = "4242:AAE-never_LOG-this-Token-0123456789"
    with FakeBotApi(token) as api:
        config = Config.from_env({**api.bot_environment(), "TELEGRAM_RETRY_SECONDS": "0"})
        services = Services(pool=None, reloader=None, limits=None)  # the requests need none of them
        application = build_application(config, services, Deliveries())
        async with application.bot:
            await application.bot.get_me()
            assert services.upstream.last == -float("inf")
            api.fail_next("getMe", status=502)
            with pytest.raises(NetworkError):
                await application.bot.get_me()
    assert services.upstream.last > time.monotonic() - 60
