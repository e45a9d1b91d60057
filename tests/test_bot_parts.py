"""The bot's parts on their own: per-user limits, the index reload, captions, photo sizes."""

from __future__ import annotations

import asyncio
import gc
import io
import threading
import weakref

import numpy as np
import pytest
from PIL import Image

from lookalike import assets_layout
from lookalike.answering import build_reload
from tests.support.bot_api.html import (
    parse_html,
    telegram_length,
)
from tests.support.data import LFW, require
from tests.support.press import press_runner_up

# ------------------------------------------------------------------ user limits


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_has_at_most_three_photos_in_flight():
    from lookalike.answering.user_limits import TooManyInFlight, UserLimits

    limits = UserLimits(max_in_flight=3, per_minute=100)
    with limits.admit(1), limits.admit(1), limits.admit(1):
        with pytest.raises(TooManyInFlight):
            with limits.admit(1):
                pass
        with limits.admit(2):  # someone else is not affected
            pass
    with limits.admit(1):
        pass


def test_a_user_sends_at_most_twelve_photos_a_minute():
    from lookalike.answering.user_limits import TooManyPerMinute, UserLimits

    clock = Clock()
    limits = UserLimits(max_in_flight=3, per_minute=12, clock=clock)
    for _ in range(12):
        with limits.admit(1):
            clock.now += 1
    with pytest.raises(TooManyPerMinute) as refused:
        with limits.admit(1):
            pass
    assert refused.value.retry_in == 48  # the first photo leaves the window 60 s after it came
    clock.now += 48
    with limits.admit(1):
        pass


def test_users_idle_for_a_minute_are_forgotten():
    from lookalike.answering.user_limits import UserLimits

    clock = Clock()
    limits = UserLimits(max_in_flight=3, per_minute=12, clock=clock)
    for user_id in range(1000):
        with limits.admit(user_id):
            pass
    clock.now += 30
    with limits.admit(1):  # user 1 is active again
        pass
    assert len(limits._recent) == 1000
    clock.now += 31
    with limits.admit(2000):
        pass
    assert set(limits._recent) == {1, 2000}


# ------------------------------------------------------------------ the index reload


def _save_index(directory, names, thumbnail_person):
    """An index of ``names`` with random vectors; every thumbnail is a real LFW photo of one person."""
    from lookalike.engine.calibration import Calibration
    from lookalike.engine.index import CelebrityIndex

    directory.mkdir()
    vectors = np.random.default_rng(len(names)).normal(size=(len(names), 128)).astype(np.float32)
    index = CelebrityIndex.build(vectors, [{"name": n} for n in names], Calibration(mean=0.7, std=0.05))
    index.save(directory)
    (directory / assets_layout.THUMBS_DIR).mkdir()
    photo = require(LFW / thumbnail_person / f"{thumbnail_person}_0001.jpg").read_bytes()
    for i in range(len(names)):
        assets_layout.thumbnail_path(directory, i).write_bytes(photo)
    return photo


def test_a_new_index_is_swapped_in_a_broken_one_is_not_and_old_thumbnails_never_come_from_the_new(tmp_path):
    from lookalike.answering.build_reload import BuildReloader, load_build
    from lookalike.builder.directory_swap import replace_directory

    assets = tmp_path / "assets"
    old_thumb = _save_index(assets, ["Ann", "Bob", "Cid"], "Adam_Sandler")
    watcher = BuildReloader(load_build(assets), poll_seconds=0.1)
    old = watcher.current
    old.file_ids[0] = "cached-file-id"
    assert old.thumbnail(0) == old_thumb
    assert asyncio.run(watcher.check()) is False  # nothing changed

    broken = tmp_path / "broken"
    _save_index(broken, ["Dan", "Eve"], "Angela_Merkel")
    (broken / "index.json").write_text("{not json")
    replace_directory(broken, assets)
    assert asyncio.run(watcher.check()) is False
    assert watcher.current is old and old.index.celebrity(0)["name"] == "Ann"
    assert old.thumbnail(0) is None  # its directory is gone; the new one's 0.jpg is someone else

    fixed = tmp_path / "fixed"
    new_thumb = _save_index(fixed, ["Dan", "Eve"], "Angela_Merkel")
    replace_directory(fixed, assets)
    assert asyncio.run(watcher.check()) is True
    new = watcher.current
    assert new.version != old.version and new.index.celebrity(1)["name"] == "Eve" and len(new) == 2
    assert new.file_ids == {} and new.thumbnail(1) == new_thumb


def test_a_new_index_loads_with_the_gil_handed_over_often(tmp_path, monkeypatch):
    """The event loop waits for the loading thread each time it takes the GIL back: at
    Python's 5 ms a million records' parse made answers ~1 s slow while it ran (format 3)."""
    import sys

    from lookalike.builder.directory_swap import replace_directory

    assets = tmp_path / "assets"
    _save_index(assets, ["Ann", "Bob", "Cid"], "Adam_Sandler")
    watcher = build_reload.BuildReloader(build_reload.load_build(assets), poll_seconds=0.1)
    intervals = []
    load = build_reload.load_build
    monkeypatch.setattr(
        build_reload, "load_build", lambda *args: intervals.append(sys.getswitchinterval()) or load(*args)
    )
    new = tmp_path / "new"
    _save_index(new, ["Dan", "Eve"], "Angela_Merkel")
    replace_directory(new, assets)
    before = sys.getswitchinterval()
    assert asyncio.run(watcher.check()) is True
    assert intervals == [build_reload.LOADING_SWITCH_INTERVAL] and sys.getswitchinterval() == before


def test_a_replaced_index_is_released_once_its_last_request_is_done(tmp_path, monkeypatch):
    from lookalike.builder.directory_swap import replace_directory

    released = []
    monkeypatch.setattr(build_reload, "release_free_memory", lambda: released.append(True))
    assets = tmp_path / "assets"
    _save_index(assets, ["Ann", "Bob", "Cid"], "Adam_Sandler")
    watcher = build_reload.BuildReloader(build_reload.load_build(assets), poll_seconds=0.1)
    old_index = weakref.ref(watcher.current.index)
    finalized = []  # the thread the replaced index was freed in: its graphs, arrays and records
    weakref.finalize(watcher.current.index, lambda: finalized.append(threading.current_thread()))
    assert asyncio.run(watcher.release_replaced()) is False  # nothing replaced yet
    in_flight = watcher.current  # a request still answering from the old build
    new = tmp_path / "new"
    _save_index(new, ["Dan", "Eve"], "Angela_Merkel")
    replace_directory(new, assets)
    assert asyncio.run(watcher.check()) is True
    assert asyncio.run(watcher.release_replaced()) is False and released == [] and old_index() is not None
    del in_flight
    gc.collect()
    assert asyncio.run(watcher.release_replaced()) is True and released == [True]
    assert old_index() is None  # freed, and not in the event loop's thread (it would stop answering)
    assert len(finalized) == 1 and finalized[0] is not threading.main_thread()  # the worker held the last reference
    assert asyncio.run(watcher.release_replaced()) is False and released == [True]  # once per reload


def test_a_missing_index_is_a_clear_error(tmp_path):
    from lookalike.answering.build_reload import load_build
    from lookalike.engine.index_files import IndexFormatError

    with pytest.raises(IndexFormatError, match="no assets directory"):
        load_build(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexFormatError, match="index.json"):
        load_build(tmp_path / "empty")


# ------------------------------------------------------------------ what is sent


def test_captions_stay_within_telegram_s_1024_characters(tmp_path):
    from lookalike.answering import replies, translations
    from lookalike.answering.analysis import Analysis, FoundFace
    from lookalike.answering.build_reload import load_build
    from lookalike.engine.index import Match

    long_name = "Maria " * 400
    _save_index(tmp_path / "assets", [long_name, "Bob", "Cid"], "Adam_Sandler")
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
    _save_index(assets, ["Ann", "Bob", "Cid"], "Adam_Sandler")
    vectors = np.load(assets / "embeddings.npy")
    author = "<Studio> & " + "Ж" * 1200
    celebrities = [{"name": "Ann"}, {"name": "Bob", "author": author, "license": "CC BY 4.0"}, {"name": "Cid"}]
    CelebrityIndex.build(vectors, celebrities, Calibration(mean=0.7, std=0.05)).save(assets)
    loaded = load_build(assets)
    caption, again = press_runner_up(loaded, f"t:{loaded.version}:1:50")
    assert again == caption
    assert len(caption.encode("utf-16-le")) // 2 <= 1024  # sent without a parse mode: Telegram counts it as it is
    assert caption.startswith("Bob · 50%\nPhoto: <Studio> & ЖЖЖ") and caption.endswith("…")


def test_a_long_caption_loses_whole_lines_from_the_end():
    from lookalike.answering.captions import fit

    lines = [
        f'{n}. <b><a href="https://www.wikidata.org/wiki/Q{n}">{"Ω" * 280}</a></b> &amp; more' for n in range(1, 6)
    ]
    caption = fit(lines)
    assert caption == "\n".join(lines[:3])  # 3 x 290 characters shown; a 4th line would pass 1024
    assert telegram_length(parse_html(caption)) == 3 * 290 + 2


@pytest.mark.parametrize("name", ["Maria " * 400, "🎬" * 700, "Tom &amp; Jerry " * 100])
def test_a_line_too_long_alone_is_cut_in_its_text_with_its_markup_whole(name):
    from lookalike.answering.captions import fit

    link = "https://commons.wikimedia.org/wiki/File:" + "x" * 300
    line = f'You look like <b><a href="{link}">{name}</a></b>: 97%'
    caption = fit([line, "Also like: Bob (50%)"])
    shown = parse_html(caption)  # raises, as Telegram refuses, if a tag or an entity was cut
    assert 1000 <= telegram_length(shown) <= 1024 and shown.endswith("…")
    assert f'<a href="{link}">' in caption and caption.endswith("…</a></b>")


def test_the_user_s_face_is_framed_like_the_celebrity_thumbnails(face_model, sample):
    """Square, the face re-found in its middle at 1/FACE_MARGIN of the side: the two halves match."""
    from lookalike.builder.build import thumbnail_jpeg
    from lookalike.engine import framing
    from lookalike.engine.imaging import decode_image

    data = sample("face_recognition/obama.jpg").read_bytes()
    image = decode_image(data)
    [face] = face_model.faces(image)
    crop = Image.open(io.BytesIO(framing.face_crop(image, face.box)))
    thumbnail = Image.open(io.BytesIO(thumbnail_jpeg(data, face.box, framing.CROP_SIDE)))
    assert crop.size == thumbnail.size == (framing.CROP_SIDE, framing.CROP_SIDE)
    assert np.abs(np.asarray(crop, float) - np.asarray(thumbnail, float)).mean() < 3  # JPEG noise only
    [again] = face_model.faces(np.asarray(crop))
    left, top, right, bottom = again.box
    assert right - left == pytest.approx(framing.CROP_SIDE / framing.FACE_MARGIN, rel=0.2)
    assert (left + right) / 2 == pytest.approx(framing.CROP_SIDE / 2, abs=0.1 * framing.CROP_SIDE)
    # Raised, not centred: the face sits below the middle, so the hair gets more room than the neck.
    assert (top + bottom) / 2 - framing.CROP_SIDE / 2 > 0.04 * framing.CROP_SIDE


def test_the_frame_leaves_more_room_above_the_face_than_below():
    from lookalike.engine import framing

    image = np.zeros((1000, 1000, 3), dtype=np.uint8)
    image[400:500, 400:500] = 255  # the face box, 100 px, well inside the photo
    square = np.asarray(framing.face_square(image, (400, 400, 500, 500)))
    rows = np.flatnonzero(square[:, :, 0].any(axis=1))
    above, below = rows[0], len(square) - 1 - rows[-1]
    assert len(square) == 200 and above > below + 20  # 0.15 box sides higher: 65 px above, 35 below


def test_a_face_at_the_edge_keeps_a_square_frame_inside_the_photo():
    from lookalike.engine import framing

    image = np.random.default_rng(0).integers(0, 255, size=(300, 400, 3), dtype=np.uint8)
    square = framing.face_square(image, (0, 0, 60, 60))  # 120 px wanted, centred above the top-left corner
    assert square.size == (120, 120)
    assert np.array_equal(np.asarray(square), image[:120, :120])
    assert framing.face_square(image, (100, 50, 400, 350)).size == (300, 300)  # shrunk to the photo


def test_the_smallest_photo_size_of_at_least_800_px_is_chosen():
    from telegram import PhotoSize

    from lookalike.bot.telegram_io import pick_photo_size

    def sizes(*sides):
        return tuple(PhotoSize(f"id{w}", f"u{w}", w, round(w * 0.75)) for w in sides)

    assert pick_photo_size(sizes(90, 320, 800, 1280)).width == 800
    assert pick_photo_size(sizes(90, 320, 1280)).width == 1280
    assert pick_photo_size(sizes(90, 320, 604)).width == 604  # none big enough: the largest


def _swap_during_the_first_load(monkeypatch, assets, newer):
    """CelebrityIndex.load that lets the builder swap ``newer`` in under the first load."""
    from lookalike.builder.directory_swap import replace_directory

    real_load = build_reload.CelebrityIndex.load
    loads = []

    def load(directory, **options):
        loads.append(directory)
        if len(loads) == 1:
            replace_directory(newer, assets)  # lands between the stamp and the check
        return real_load(directory, **options)

    monkeypatch.setattr(build_reload.CelebrityIndex, "load", staticmethod(load))
    return loads


def test_an_index_swapped_in_during_start_up_is_loaded_again_not_a_crash(tmp_path, monkeypatch):
    from lookalike.answering.build_reload import BuildChanged, load_build, load_build_at_start

    assets = tmp_path / "assets"
    _save_index(assets, ["Ann", "Bob", "Cid"], "Adam_Sandler")
    _save_index(tmp_path / "newer", ["Dan", "Eve"], "Angela_Merkel")
    _swap_during_the_first_load(monkeypatch, assets, tmp_path / "newer")
    with pytest.raises(BuildChanged):
        load_build(assets)  # what the reload watcher sees: it keeps the old build and polls again

    _save_index(tmp_path / "newest", ["Fay", "Gus"], "Angela_Merkel")
    loads = _swap_during_the_first_load(monkeypatch, assets, tmp_path / "newest")
    loaded = load_build_at_start(assets, pause=0.01)
    assert len(loads) == 2
    assert [loaded.index.celebrity(i)["name"] for i in (0, 1)] == ["Fay", "Gus"] and len(loaded) == 2


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


def test_each_reason_a_file_cannot_be_read_has_its_own_true_text_in_both_languages():
    from lookalike.answering.look_alike import IMAGE_ERROR_TEXTS
    from lookalike.answering.texts import say
    from lookalike.engine.imaging import ImageError

    reasons = {value for name, value in vars(ImageError).items() if name.isupper()}
    assert set(IMAGE_ERROR_TEXTS) == reasons
    for lang in ("en", "ru"):
        texts = [say(lang, IMAGE_ERROR_TEXTS[reason], jpeg_mp=256, other_mp=64) for reason in sorted(reasons)]
        assert len(set(texts)) == len(reasons)
    assert "256" in say("ru", "too_many_pixels", jpeg_mp=256, other_mp=64)
    assert "damaged" not in say("en", IMAGE_ERROR_TEXTS[ImageError.TOO_MANY_PIXELS], jpeg_mp=256, other_mp=64)


def test_the_fork_server_preloads_modules_that_exist():
    """multiprocessing skips a preload name that does not import, silently: each worker
    would then load dlib itself (as happened when the modules moved into the package).
    The bot's pool and the builder's share this one list."""
    import importlib.util

    from lookalike.engine.face_workers import FORKSERVER_PRELOAD

    for name in FORKSERVER_PRELOAD:
        assert importlib.util.find_spec(name) is not None, name
