"""Replies within Telegram's limits: a caption of 1024 parsed characters whatever the names, the
runner-up's credited caption too, the buttons' labels and data."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.support.assets import save_index
from tests.support.bot_api.html import parse_html, telegram_length
from tests.support.data import LFW, require
from tests.support.press import press_runner_up


def test_captions_stay_within_telegram_s_1024_characters(tmp_path):
    from lookalike.answering import replies, translations
    from lookalike.answering.analysis import Analysis, FoundFace
    from lookalike.answering.build_reload import load_build
    from lookalike.engine.index import Match

    long_name = "Maria " * 400
    save_index(tmp_path / "assets", [long_name, "Bob", "Cid"], "Adam_Sandler")
    loaded = load_build(tmp_path / "assets")
    face_jpeg = require(LFW / "Angela_Merkel" / "Angela_Merkel_0001.jpg").read_bytes()
    face = FoundFace((0, 0, 100, 100), 40.0, np.zeros(128, np.float32), face_jpeg)
    matches = [Match(0, long_name, 0.3, 0.97), Match(1, "Bob", 0.6, 0.5), Match(2, "Cid", 0.7, 0.2)]
    for lang in ("en", "ru"):
        one = replies.one_face(lang, Analysis([face]), matches, loaded)
        group = replies.several_faces(lang, Analysis([face] * 5, b"jpeg"), [matches] * 5, loaded)
        for caption in (one.caption, group.caption):  # the fake Bot API's parser says what Telegram says
            assert telegram_length(parse_html(caption)) <= 1024
        picture = Image.open(io.BytesIO(one.picture))
        assert picture.width > 1.5 * picture.height  # both faces, side by side
        shown = [translations.percent(lang, 50), translations.percent(lang, 20)]
        assert [b.label for b in one.buttons[0]] == [f"Bob · {shown[0]}", f"Cid · {shown[1]}"]
        assert replies.parse_button(one.buttons[0][0].data) == (loaded.version, 1, 50)


def test_a_runner_up_photo_with_a_very_long_credit_keeps_its_caption_within_1024(tmp_path):
    """The runner-up's caption is plain text with the photo's credit: an author of a thousand
    characters must not make Telegram refuse the photo (and lose the press's answer)."""
    from lookalike.answering.build_reload import load_build
    from lookalike.engine.calibration import Calibration
    from lookalike.engine.index import CelebrityIndex

    assets = tmp_path / "assets"
    save_index(assets, ["Ann", "Bob", "Cid"], "Adam_Sandler")
    vectors = np.load(assets / "embeddings.npy")
    author = "<Studio> & " + "Ж" * 1200
    celebrities = [{"name": "Ann"}, {"name": "Bob", "author": author, "license": "CC BY 4.0"}, {"name": "Cid"}]
    CelebrityIndex.build(vectors, celebrities, Calibration(mean=0.7, std=0.05)).save(assets)
    loaded = load_build(assets)
    caption, again = press_runner_up(loaded, f"t:{loaded.version}:1:50")
    assert again == caption
    assert len(caption.encode("utf-16-le")) // 2 <= 1024  # sent without a parse mode: Telegram counts it as it is
    assert caption.startswith("Bob · 50%\nPhoto: <Studio> & ЖЖЖ") and caption.endswith("…")
