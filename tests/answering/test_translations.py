"""The gettext catalogs: every language has every message, with the same placeholders and
markup, Babel's own checkers find nothing, plurals and numbers follow the language, and the
template is what the code says today."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from lookalike.answering import texts, translations
from lookalike.languages import LANGUAGES, supported
from tests.support.data import ROOT

LOCALE = ROOT / "lookalike" / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
TAG = re.compile(r"</?\w+[^>]*>")


def read(path: Path):
    with path.open("rb") as file:
        return read_po(file)


def template():
    return read(LOCALE / "lookalike.pot")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_catalog_translates_every_message_with_its_placeholders_and_markup(lang):
    catalog = read(LOCALE / lang / "LC_MESSAGES" / "lookalike.po")
    messages = {message.id: message for message in catalog if message.id}
    wanted = [message.id for message in template() if message.id]
    assert sorted(map(str, messages)) == sorted(map(str, wanted))
    for msgid in wanted:
        message = messages[msgid]
        assert not message.fuzzy, msgid
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(forms) == catalog.num_plurals if isinstance(msgid, tuple) else 1
        for form in forms:
            assert form.strip(), f"{lang}: {ids[0]!r} untranslated"
            assert sorted(PLACEHOLDER.findall(form)) == sorted(PLACEHOLDER.findall(ids[-1])), (lang, form)
            assert sorted(TAG.findall(form)) == sorted(TAG.findall(ids[-1])), (lang, form)
            assert form.count("\n") == ids[-1].count("\n"), (lang, form)
    errors = [(message.id, error) for message, error in catalog.check()]  # Babel's checkers (python-format...)
    assert errors == []


def test_the_template_holds_every_message_the_code_marks(tmp_path):
    """pybabel extract, as README says, gives the committed template's messages: a message added
    to the code without extracting and translating it fails here."""
    extracted = tmp_path / "lookalike.pot"
    subprocess.run(
        [str(Path(sys.executable).with_name("pybabel")), "-q", "extract", "-o", str(extracted)],
        cwd=ROOT,
        check=True,
    )
    assert {str(m.id) for m in read(extracted) if m.id} == {str(m.id) for m in template() if m.id}
    assert len(texts.TEXTS) > 50


def test_a_regional_variant_speaks_its_language_and_an_unknown_one_english():
    assert supported("pt-br") == supported("pt-BR") == supported("pt_PT") == "pt"
    assert supported("es-419") == "es" and supported("ar-EG") == "ar" and supported("hi") == "hi"
    assert supported("zh-hans") == supported(None) == supported("") == supported("english") == "en"


def test_answers_are_in_the_users_language():
    assert texts.say("es", "no_face").startswith("No encontré ninguna cara")
    assert texts.say("pt-br", "no_face").startswith("Não encontrei nenhum rosto")
    assert "चेहरा" in texts.say("hi", "no_face")
    assert texts.say("de", "no_face") != texts.say("en", "no_face") != texts.say("fr", "no_face")
    assert texts.say("zh", "no_face") == texts.say("en", "no_face")


def test_right_to_left_languages_start_every_line_with_a_right_to_left_mark():
    for lang in ("ar", "fa"):
        lines = texts.say(lang, "start").split("\n")
        assert all(line.startswith(texts.RLM) for line in lines)
        assert "/language" in texts.say(lang, "start")
    assert texts.RLM not in texts.say("hi", "start") + texts.say("en", "start")


def test_plurals_follow_each_languages_rules():
    ru = [texts.say("ru", "group", count=n).split()[-1] for n in (1, 2, 5, 21, 22, 25)]
    assert ru == ["лицо:", "лица:", "лиц:", "лицо:", "лица:", "лиц:"]
    assert texts.say("uk", "user_rate", count=3).endswith("3 секунди.")
    assert texts.say("uk", "user_rate", count=11).endswith("11 секунд.")
    arabic = [texts.say("ar", "group", count=n).split()[-1] for n in (0, 1, 2, 3, 11, 100)]
    assert arabic == ["وجه:", "وجهًا:", "وجهين:", "وجوه:", "وجهًا:", "وجه:"]  # 6 forms, 4 words
    assert "وجهين" in texts.say("ar", "group", count=2)
    assert texts.say("en", "group", count=1) == "I found 1 face:"
    assert texts.say("en", "group", count=3) == "I found 3 faces:"


def test_percentages_are_written_as_each_language_writes_them():
    assert translations.percent("en", 87) == "87%"
    assert translations.percent("tr", 87) == "%87"
    assert translations.percent("fr", 87) == "87\u202f%" or translations.percent("fr", 87) == "87\xa0%"
    assert translations.percent("de", 87) == "87\xa0%"
    assert translations.number("ru", 12345) == "12\xa0345"
    caption = texts.say("tr", "match", name="X", percent=translations.percent("tr", 87))
    assert "%87" in caption


def test_a_missing_or_stale_compiled_catalog_is_compiled_from_its_po(tmp_path, monkeypatch):
    locale = tmp_path / "locale"
    shutil.copytree(LOCALE, locale)
    for mo in locale.rglob("*.mo"):
        mo.unlink()
    po = locale / "es" / "LC_MESSAGES" / "lookalike.po"
    po.write_text(po.read_text(encoding="utf-8").replace("No encontré ninguna cara", "Ninguna cara"), "utf-8")
    monkeypatch.setattr(translations, "LOCALE_DIR", locale)
    translations.catalog.cache_clear()
    try:
        assert texts.say("es", "no_face").startswith("Ninguna cara")
        assert texts.say("es", "group", count=2) == "Encontré 2 caras:"
    finally:
        translations.catalog.cache_clear()


def test_a_broken_translation_is_said_in_english_rather_than_failing(monkeypatch):
    class Broken:
        def gettext(self, message):
            return "%(nombre)s"

    monkeypatch.setattr(texts, "catalog", lambda lang: Broken())
    assert texts.say("es", "this_is", name="Ana") == "This is <b>Ana</b>! Not a look-alike: I know this face."


def test_every_language_is_offered_by_its_own_name():
    names = [translations.native_name(code) for code in LANGUAGES]
    assert names[:4] == ["English", "Русский", "Українська", "Español"]
    assert "العربية" in names and "हिन्दी" in names and "Türkçe" in names
    assert len(set(names)) == len(LANGUAGES)
