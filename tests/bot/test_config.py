"""The bot's configuration: its own variables read and checked, each mistake one line."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("port", ["0", "-1", "65536", "99999"])
def test_a_port_out_of_range_is_refused(port):
    from lookalike.bot.config import Config, ConfigError

    with pytest.raises(ConfigError, match=f"PORT must be at (least 1|most 65535), not {port}"):
        Config.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "PORT": port})
    assert Config.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "PORT": "65535"}).port == 65535


def test_local_mode_and_the_chat_cap_come_from_the_environment():
    from lookalike.bot.config import Config, ConfigError

    default = Config.from_env({"TELEGRAM_BOT_TOKEN": "1:x"})
    assert default.local_mode is False and default.answering.chat_pending == 10
    local = Config.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_LOCAL_MODE": "1", "CHAT_PENDING": "3"})
    assert local.local_mode is True and local.answering.chat_pending == 3
    with pytest.raises(ConfigError, match="TELEGRAM_LOCAL_MODE must be 1 or 0"):
        Config.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_LOCAL_MODE": "maybe"})
