"""/language's choices: kept by the user's pseudonym (never the id), across restarts, until /forget."""

from __future__ import annotations

import sqlite3

from lookalike.answering.language_choice import LanguageChoices
from lookalike.answering.pseudonyms import Pseudonyms

USER = 123456789


def test_a_choice_outlives_a_restart_keyed_by_the_pseudonym_only(tmp_path):
    path = tmp_path / "state" / "languages.sqlite"
    pseudonyms = Pseudonyms(b"k" * 32)
    choices = LanguageChoices(path, pseudonyms.of)
    assert choices.get(USER) is None
    choices.choose(USER, "es")
    choices.choose(USER, "ar")
    choices.close()

    again = LanguageChoices(path, Pseudonyms(b"k" * 32).of)  # the next start: same key file
    assert again.get(USER) == "ar" and again.get(USER + 1) is None
    rows = sqlite3.connect(path).execute("SELECT user, language FROM languages").fetchall()
    assert rows == [(pseudonyms.of(USER), "ar")]
    assert str(USER) not in path.read_bytes().decode("latin-1")

    again.forget(USER)
    assert again.get(USER) is None
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM languages").fetchone() == (0,)


def test_an_unusable_file_keeps_the_choices_in_memory(tmp_path):
    (tmp_path / "taken").write_text("a file where a folder should be")
    choices = LanguageChoices(tmp_path / "taken" / "languages.sqlite", Pseudonyms(b"k" * 32).of)
    choices.choose(USER, "hi")
    assert choices.get(USER) == "hi"
    choices.forget(USER)
    assert choices.get(USER) is None
