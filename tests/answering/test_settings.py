"""One set of answering settings for both front ends, and README's tables from the declarations
(``lookalike.answering.settings``, ``lookalike.bot.config``, ``lookalike.playground.settings``)."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest

from lookalike.answering import settings as answering
from lookalike.bot import config
from lookalike.playground import settings as playground
from tests.support.data import ROOT

TOKEN = "4242:AAE-never_LOG-this-Token-0123456789"
README = ROOT / "README.md"


def readme_table(header: str, first_row: str) -> str:
    """README's table that starts with ``header`` and whose first row starts with ``first_row``."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(header)}\n\| ---[^\n]*\n{re.escape(first_row)}.*?(?=\n\n)", text, re.M | re.S)
    assert found, f"no table in README with {first_row!r} first"
    return found.group(0)


@pytest.mark.parametrize(
    "variables, flags",
    [(answering.VARIABLES, False), (config.VARIABLES, False), (playground.VARIABLES, True)],
    ids=["both front ends", "the bot", "the playground"],
)
def test_readme_tables_are_the_declared_settings(variables, flags):
    """On a difference, README's table should be replaced by the rendered one (the message)."""
    header = "| variable | flag | meaning | default |" if flags else "| variable | meaning | default |"
    rendered = answering.table(variables, flags)
    assert readme_table(header, f"| `{variables[0].name}` |") == rendered, rendered


def test_readme_names_the_shared_settings_where_the_playground_says_it_reads_them():
    text = README.read_text(encoding="utf-8")
    sentence = re.search(r"The settings both front ends answer with, (.+?)\n\(", text, re.S)
    assert sentence and re.findall(r"`([A-Z_]+)`", sentence[1]) == [v.name for v in answering.VARIABLES]


def test_each_variable_is_declared_once():
    names = [v.name for v in (*answering.VARIABLES, *config.VARIABLES, *playground.VARIABLES)]
    assert len(names) == len(set(names))


ENV = {
    "ASSETS_DIR": "elsewhere",
    "WORKERS": "3",
    "MAX_PENDING": "7",
    "MAX_WAIT_SECONDS": "4.5",
    "USER_IN_FLIGHT": "2",
    "USER_PER_MINUTE": "5",
    "CHAT_PENDING": "6",
    "INDEX_POLL_SECONDS": "9",
    "LOG_LEVEL": "debug",
}


@pytest.mark.parametrize("env", [{}, ENV], ids=["defaults", "set"])
def test_the_playground_reads_the_bots_answering_settings(env):
    bot = config.Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, **env}).answering
    assert playground.Settings.from_env([], env).answering == bot
    if env:
        assert bot == answering.AnsweringSettings(
            assets_dir=bot.assets_dir, workers=3, max_pending=7, max_wait_seconds=4.5, user_in_flight=2,
            user_per_minute=5, chat_pending=6, index_poll_seconds=9.0, log_level="DEBUG",
        )  # fmt: skip
    else:
        assert bot.max_pending == 64 * bot.workers and bot.chat_pending == 10 and bot.max_wait_seconds == 30


def limits(services) -> dict:
    pool = services.pool
    return {
        "pool": (pool.workers, pool.max_pending, services.admission.reckoning.max_wait),
        "user": (services.limits.max_in_flight, services.limits.per_minute),
        "chat": services.chats.max_pending,
    }


def test_the_playground_answers_within_the_limits_the_bot_makes_of_the_same_settings(tmp_path):
    """The playground's pool had no MAX_WAIT_SECONDS, its chats ignored CHAT_PENDING, and its
    MAX_PENDING was 16 a worker against the bot's 64: both now make theirs with ``front_end.services``."""
    from lookalike.answering import front_end
    from lookalike.answering.build_reload import BuildReloader, load_build
    from lookalike.engine.calibration import Calibration
    from lookalike.engine.index import CelebrityIndex
    from lookalike.playground.server import Playground

    assets = tmp_path / "assets"
    assets.mkdir()
    vectors = np.random.default_rng(1).normal(size=(3, 128)).astype(np.float32)
    CelebrityIndex.build(vectors, [{"name": n} for n in "ABC"], Calibration(mean=0.7, std=0.05)).save(assets)
    env = {**ENV, "ASSETS_DIR": str(assets)}
    bot = front_end.services(config.Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, **env}).answering, None)
    served = Playground(playground.Settings.from_env([], env))

    async def answering_from_the_build() -> None:
        served._answer_from(load_build(assets))
        for task in served._tasks:
            task.cancel()

    asyncio.run(answering_from_the_build())
    assert limits(served.services) == limits(bot) == {"pool": (3, 7, 4.5), "user": (2, 5), "chat": 6}
    assert isinstance(served.services.reloader, BuildReloader)


def test_a_wrong_shared_setting_is_one_line_naming_it_for_either_front_end():
    with pytest.raises(answering.ConfigError, match="^CHAT_PENDING must be at least 1, not 0$"):
        config.Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "CHAT_PENDING": "0"})
    with pytest.raises(answering.ConfigError, match="^MAX_WAIT_SECONDS must be a number, not 'soon'$"):
        playground.Settings.from_env([], {"MAX_WAIT_SECONDS": "soon"})
