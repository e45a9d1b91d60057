"""The bot as the end-to-end tests run it: ``python bot.py`` as a subprocess against the
fake Bot API, a gallery of LFW people built with the real builder, and helpers to send,
wait for and read replies."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import itertools
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from tests.support.bot_api import FakeBotApi
from tests.support.data import LFW, ROOT, SAMPLES, missing_data, require
from tests.support.processes import LoggedProcess, descendants, process_parents

TOKEN = "4242:AAE-never_LOG-this-Token-0123456789"
WORKERS = "2"
MAX_PENDING = 64  # the burst's 100 photos: most answered, the rest told "busy"
GALLERY_SIZE = 24
NEW_PEOPLE = 6

_user_ids = itertools.count(1000)


def new_user() -> int:
    return next(_user_ids)


def say(key: str, lang: str = "en", **values) -> str:
    from lookalike.answering.texts import say as texts_say

    return texts_say(lang, key, **values)


# ------------------------------------------------------------------ the gallery


def lfw_people() -> list[str]:
    """People with 3 to 6 photos, by name: small folders keep the session's build quick."""
    require(LFW)
    people = sorted(p.name for p in LFW.iterdir() if p.is_dir() and 3 <= len(list(p.glob("*.jpg"))) <= 6)
    if len(people) < GALLERY_SIZE + NEW_PEOPLE:
        missing_data(f"needs {GALLERY_SIZE + NEW_PEOPLE} LFW people with 3+ photos in {LFW}")
    return people


def selfie(person: str) -> bytes:
    """The held-out photo: never in a gallery."""
    return require(LFW / person / f"{person}_0001.jpg").read_bytes()


def name(person: str) -> str:
    return person.replace("_", " ")


def photo_folder(root: Path, people: list[str]) -> Path:
    """PHOTOS_DIR/<Name>/*.jpg linking to each person's LFW photos but the first."""
    root.mkdir(parents=True)
    for person in people:
        folder = root / person
        folder.mkdir()
        for photo in sorted((LFW / person).glob("*.jpg"))[1:]:
            (folder / photo.name).symlink_to(photo)
    return root


def build_index(photos: Path, out: Path, cache: Path) -> None:
    from lookalike.builder.build import build

    build(photos, out, workers=2, jitters=1, cache=cache, progress=False)


# ------------------------------------------------------------------ the bot process


class BotProcess(LoggedProcess):
    """``python bot.py`` with the given environment (none of the caller's TELEGRAM_ or WEBHOOK_
    variables), its output in a log file."""

    name = "bot"

    def __init__(self, env: dict[str, str], log_path: Path, new_session: bool = False):
        command = [sys.executable, str(ROOT / "bot.py")]
        super().__init__(command, env, log_path, unset=("TELEGRAM_", "WEBHOOK_"), new_session=new_session)


def run_bot(api: FakeBotApi, assets: Path, log_path: Path, new_session: bool = False, **env: str) -> BotProcess:
    environment = {**api.bot_environment(), "ASSETS_DIR": str(assets), "WORKERS": WORKERS, **env}
    bot = BotProcess(environment, log_path, new_session)
    try:
        api.wait_for(lambda call: call.method in ("getUpdates", "setWebhook"), timeout=60, description="start-up")
    except AssertionError:
        bot.stop()
        raise AssertionError(f"the bot did not start:\n{bot.log()[-4000:]}") from None
    return bot


@contextlib.contextmanager
def running_bot(api: FakeBotApi, assets: Path, log_path: Path, **env: str) -> Iterator[BotProcess]:
    """``run_bot`` for a module's fixture: the bot while the tests use it, then stopped,
    which must end with exit status 0."""
    bot = run_bot(api, assets, log_path, **env)
    yield bot
    code = bot.stop()
    assert code == 0, f"bot.py exited with {code}:\n{bot.log()[-3000:]}"


def plant_decoys(directory: Path, count: int = 3000) -> None:
    """Files named like Telegram's file paths, all of dogs: a bot that read a local file
    instead of downloading would answer "no face" to every selfie."""
    dogs = require(SAMPLES / "dlib_faces/dogs.jpg")
    for folder in ("photos", "documents"):
        (directory / folder).mkdir()
        for number in range(1, count + 1):
            for extension in (".jpg", ".png"):
                (directory / folder / f"file_{number}{extension}").symlink_to(dogs)


# ------------------------------------------------------------------ helpers


def replies_to(api: FakeBotApi, chat_id: int, count: int = 1, timeout: float = 30.0):
    """The first ``count`` successful replies in ``chat_id``, after waiting for them."""
    api.wait_for(lambda c: c.ok and c.is_message and c.chat_id == chat_id, timeout=timeout, count=count)
    return api.replies(chat_id)


def only_reply(api: FakeBotApi, chat_id: int, timeout: float = 30.0):
    [reply] = replies_to(api, chat_id, timeout=timeout)
    return reply


def sample(name: str) -> bytes:
    return require(SAMPLES / name).read_bytes()


def press(api: FakeBotApi, user_id: int, message: dict, data: str) -> dict:
    """Queue a press of an inline button under ``message`` (a message the bot sent)."""
    return api.add_update(
        {
            "callback_query": {
                "id": f"cq{user_id}{time.monotonic_ns()}",
                "from": {"id": user_id, "is_bot": False, "first_name": "Tester", "language_code": "en"},
                "chat_instance": str(user_id),
                "message": message,
                "data": data,
            }
        }
    )


def pool_workers(pid: int) -> set[int]:
    """The bot's face workers: the leaves of its process tree, except multiprocessing's resource tracker."""
    parents = process_parents()
    below = descendants(pid, parents)
    workers = set()
    for child in below:
        if any(parents.get(other) == child for other in below):
            continue
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            workers.add(child)
    return workers


def kill_workers(pid: int) -> set[int]:
    workers = pool_workers(pid)
    assert workers, "found no worker processes to kill"
    for worker in workers:
        os.kill(worker, signal.SIGKILL)
    return workers


@functools.lru_cache(maxsize=1)
def slow_photo() -> bytes:
    """bald_guys.jpg enlarged 3x (27 MP, 1 MB): ~1.3 s in a worker (0.3 s at its own size,
    too close to a test's reaction time to be sure of killing a worker mid-photo). WebP, not
    JPEG: a JPEG that large is decoded at half scale, in a quarter of the time."""
    image = Image.open(io.BytesIO(sample("dlib_faces/bald_guys.jpg")))
    buffer = io.BytesIO()
    image.resize((image.width * 3, image.height * 3), Image.BICUBIC).save(buffer, "WEBP", quality=80, method=0)
    return buffer.getvalue()


def send_slow_photo(api: FakeBotApi, user: int) -> None:
    """Returns once a worker has been on the photo for a while: the bot shows its chat
    action only to a user whose answer is still not ready after half a second."""
    api.send_document_update(user, slow_photo(), "image/webp", "bald_guys_large.webp")
    api.wait_for(lambda c: c.method == "sendChatAction" and c.chat_id == user, timeout=30)


PER_GENDER = 9  # people of 4-8 photos each, one held out: well over the probe's 20 photos a gender


def people_of(gender: str) -> list[str]:
    """PER_GENDER LFW people the catalog labels ``gender``, with 4 to 8 photos each."""
    require(LFW / "catalog.csv")
    with open(LFW / "catalog.csv", newline="") as file:
        labelled = [row["key"] for row in csv.DictReader(file) if row["gender"] == gender]
    fitting = [key for key in labelled if 4 <= len(list((LFW / key).glob("*.jpg"))) <= 8]
    if len(fitting) < PER_GENDER:
        missing_data(f"needs {PER_GENDER} {gender} LFW people with 4-8 photos")
    return fitting[:PER_GENDER]


def gendered_photo_folder(root: Path, women: list[str], men: list[str]) -> Path:
    """The women's and men's photos but their first, with a catalog.csv of their genders."""
    photos = photo_folder(root, women + men)
    with open(photos / "catalog.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["key", "gender"])
        writer.writerows([[person, "female"] for person in women] + [[person, "male"] for person in men])
    return photos
