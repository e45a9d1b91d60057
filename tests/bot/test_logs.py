"""The bot's log (issue #28 item 4): users named by a keyed pseudonym, never their Telegram id,
stable across restarts; LOG_FORMAT=json, one JSON object a line; the token never in it."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys

import pytest

from lookalike.answering.outcome import Outcome
from lookalike.answering.pseudonyms import DIGITS, Pseudonyms
from lookalike.bot.logs import JsonFormatter, RedactingFormatter
from tests.support.bot_api import FakeBotApi
from tests.support.bot_harness import TOKEN, replies_to, run_bot, selfie

USER = 7_340_912_658
"""A user id that no other number in a log contains by chance."""


# ------------------------------------------------------------------ pseudonyms


def test_a_pseudonym_is_stable_for_its_key_and_tells_nothing_without_it(tmp_path):
    key_file = tmp_path / "log-key"
    first = Pseudonyms.from_key_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = Pseudonyms.from_key_file(key_file)  # the next start
    assert first.of(USER) == again.of(USER)
    assert len(first.of(USER)) == DIGITS and int(first.of(USER), 16) >= 0
    assert str(USER) not in first.of(USER)
    assert first.of(USER) != first.of(USER + 1)
    other_key = Pseudonyms.from_key_file(tmp_path / "other-key")
    assert other_key.of(USER) != first.of(USER)  # keyed: no table of ids to pseudonyms without it


def test_a_key_file_that_cannot_be_used_is_logged_and_the_bot_runs_on(tmp_path, caplog):
    broken = tmp_path / "log-key"
    broken.write_text("not hex\n")
    with caplog.at_level(logging.WARNING):
        pseudonyms = Pseudonyms.from_key_file(broken)
    assert "LOG_KEY_FILE" in caplog.text and str(broken) in caplog.text
    assert len(pseudonyms.of(USER)) == DIGITS
    assert broken.read_text() == "not hex\n"  # left for the operator to look at


# ------------------------------------------------------------------ the JSON lines


def test_json_lines_carry_the_fields_and_the_traceback_in_one_line_without_the_token():
    formatter = RedactingFormatter(JsonFormatter(), TOKEN)
    record = logging.LogRecord("lookalike.bot.handlers", logging.INFO, __file__, 1, "update=%s", (5,), None)
    record.fields = {"update": 5, "user": "0a1b2c3d4e5f", "top": 'Ёлка "Tree"', "message": "not mine"}
    line = json.loads(formatter.format(record))
    assert line["level"] == "INFO" and line["logger"] == "lookalike.bot.handlers"
    assert line["message"] == "update=5" and line["update"] == 5 and line["top"] == 'Ёлка "Tree"'
    assert line["time"].endswith("+00:00")
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{TOKEN}/getMe failed")
    except RuntimeError:
        failed = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = formatter.format(failed)
    assert "\n" not in text and TOKEN not in text
    assert "Traceback" in json.loads(text)["exception"] and "<TOKEN>" in json.loads(text)["exception"]


def test_the_text_line_quotes_names_and_leaves_words_and_numbers_bare():
    outcome = Outcome("button", "thumbnail", fields={"source": "file_id", "celebrity": "Jean-Paul O'Neil", "x": None})
    outcome.fields["percent"] = 99
    assert outcome.fields_text == ' source=file_id celebrity="Jean-Paul O\'Neil" percent=99'


# ------------------------------------------------------------------ end to end


@pytest.mark.e2e
def test_the_log_names_users_by_pseudonym_in_json_lines_even_at_debug(assets, people, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    env = {"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", "ANSWERED_FILE": str(state / "answered.json"), "WORKERS": "1"}
    lines = []
    with FakeBotApi(token=TOKEN) as api:
        for run in (1, 2):  # the pseudonym outlives a restart
            bot = run_bot(api, assets, tmp_path / f"run{run}.log", **env)
            try:
                api.send_photo_update(USER, sizes=selfie(people[5]))
                assert replies_to(api, USER, count=run)[-1].method == "sendPhoto"
            finally:
                assert bot.stop() == 0
            log = bot.log()
            assert str(USER) not in log, [line for line in log.splitlines() if str(USER) in line]
            assert TOKEN not in log
            lines += [json.loads(line) for line in log.splitlines()]  # every line one JSON object
    pseudonym = Pseudonyms.from_key_file(state / "log-key").of(USER)
    answers = [line for line in lines if line.get("kind") == "photo"]
    assert len(answers) == 2, answers
    for answer in answers:
        assert answer["user"] == pseudonym and answer["outcome"] == "match"
        assert {"time", "level", "logger", "message", "update", "ms", "top", "percent", "faces"} <= answer.keys()
        assert f"user={pseudonym} " in answer["message"]
    assert any(line["level"] == "DEBUG" for line in lines)


def test_an_operator_finds_a_user_s_pseudonym_from_their_id(tmp_path):
    """A user writes in with their id: ``python -m lookalike.bot.pseudonyms ID`` gives the name
    the log knows them by, from the bot's own key."""
    key_file = tmp_path / "log-key"
    expected = Pseudonyms.from_key_file(key_file).of(USER)
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "LOG_KEY_FILE": str(key_file), "PATH": os.environ.get("PATH", "")}
    found = subprocess.run(
        [sys.executable, "-m", "lookalike.bot.pseudonyms", str(USER)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (found.returncode, found.stdout) == (0, expected + "\n"), found.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "lookalike.bot.pseudonyms", str(USER)],
        env={**env, "LOG_KEY_FILE": str(tmp_path / "none")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and "LOG_KEY_FILE" in missing.stderr
    assert not (tmp_path / "none").exists()  # asking makes no key
