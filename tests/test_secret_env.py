"""Secrets read as NAME or from the file NAME_FILE names (compose secrets, systemd's
LoadCredential=): the token from a file, and one clear line, never the secret, for each way
of naming it wrongly."""

from __future__ import annotations

import pytest

from lookalike.bot.config import Config, ConfigError
from lookalike.secret_env import MAX_BYTES, SecretError, read_secret

TOKEN = "4242:AAE-never_LOG-this-Token-0123456789"


def test_a_secret_comes_from_the_variable_or_from_the_file_without_its_newline(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret value\n")
    assert read_secret({"NAME": "direct"}, "NAME") == "direct"
    assert read_secret({"NAME_FILE": str(secret)}, "NAME") == "s3cret value"
    secret.write_text("windows\r\n")
    assert read_secret({"NAME_FILE": str(secret)}, "NAME") == "windows"
    assert read_secret({}, "NAME") is None
    assert read_secret({"NAME": "", "NAME_FILE": ""}, "NAME") is None  # an env file's empty NAME= is unset


def test_the_token_comes_from_telegram_bot_token_file(tmp_path):
    token_file = tmp_path / "telegram_bot_token"
    token_file.write_text(TOKEN + "\n")
    config = Config.from_env({"TELEGRAM_BOT_TOKEN_FILE": str(token_file)})
    assert config.token == TOKEN
    # .env.example's empty TELEGRAM_BOT_TOKEN= beside a compose secret is no conflict
    assert Config.from_env({"TELEGRAM_BOT_TOKEN": "", "TELEGRAM_BOT_TOKEN_FILE": str(token_file)}).token == TOKEN


def test_both_set_is_one_clear_line(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BOT_TOKEN_FILE": str(token_file)})
    message = str(caught.value)
    assert message == "TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_TOKEN_FILE are both set: set one of them"


@pytest.mark.parametrize("problem", ["missing", "a directory", "empty", "huge", "binary"])
def test_a_token_file_that_cannot_be_used_is_one_line_naming_it_and_not_its_content(tmp_path, problem):
    path = tmp_path / "token"
    expected = {
        "missing": "No such file or directory",
        "a directory": "Is a directory",
        "empty": "is empty",
        "huge": "larger than 64 KiB",
        "binary": "is not UTF-8 text",
    }[problem]
    if problem == "a directory":
        path.mkdir()
    elif problem == "empty":
        path.write_text("\n")
    elif problem == "huge":
        path.write_text(TOKEN + "x" * MAX_BYTES)
    elif problem == "binary":
        path.write_bytes(TOKEN.encode() + b"\xff\xfe")
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"TELEGRAM_BOT_TOKEN_FILE": str(path)})
    message = str(caught.value)
    assert message.startswith(("cannot read TELEGRAM_BOT_TOKEN_FILE", "TELEGRAM_BOT_TOKEN_FILE")), message
    assert str(path) in message and expected in message, message
    assert "\n" not in message and TOKEN not in message


def test_the_helper_s_errors_are_its_own_type_for_other_callers(tmp_path):
    with pytest.raises(SecretError, match="PLAYGROUND_SECRET and PLAYGROUND_SECRET_FILE are both set"):
        read_secret({"PLAYGROUND_SECRET": "a", "PLAYGROUND_SECRET_FILE": str(tmp_path)}, "PLAYGROUND_SECRET")
