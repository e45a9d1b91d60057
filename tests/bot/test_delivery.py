"""delivery.Poller's bookkeeping and answered_file without a bot process: a stand-in for
Telegram's getUpdates, updates answered by calling Deliveries.done as the bot's update
processor does, and ANSWERED_FILE read from disk while the poller runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from telegram import Update
from telegram.error import NetworkError

from lookalike.bot.answered_file import AnsweredFile, read_record
from lookalike.bot.delivery import Deliveries, Poller
from tests.support.data import ROOT


class FakeTelegram:
    """getUpdates as Telegram answers it: updates stay until a getUpdates whose offset is
    above them confirms them; a long poll waits for new ones."""

    def __init__(self, *update_ids: int):
        self.pending = list(update_ids)
        self.offsets: list[int] = []  # the offset of every getUpdates, in order
        self.unreachable = False  # getUpdates fails before Telegram sees it
        self._arrived = asyncio.Event()

    def send(self, *update_ids: int) -> None:
        self.pending += update_ids
        self._arrived.set()

    async def delete_webhook(self) -> bool:
        return True

    async def get_updates(self, offset=0, limit=100, timeout=0, allowed_updates=None) -> list[Update]:
        self.offsets.append(offset)
        if self.unreachable:
            raise NetworkError("connection reset")
        if offset > 0:
            self.pending = [i for i in self.pending if i >= offset]
        if not self.pending and timeout:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._arrived.wait()
        return [Update(i) for i in self.pending[:limit]]


class Bot:
    """One poller, as app.py runs it, over ``telegram``; the updates it handed over in ``queue``."""

    def __init__(self, telegram: FakeTelegram, answered_file: Path):
        self.telegram = telegram
        self.deliveries = Deliveries()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.poller = Poller(telegram, self.queue, self.deliveries, ["message"], answered_file)

    async def received(self, count: int) -> list[int]:
        async with asyncio.timeout(5):
            return [(await self.queue.get()).update_id for _ in range(count)]

    def answer(self, *update_ids: int) -> None:
        for update_id in update_ids:
            self.deliveries.done(update_id)

    async def polls(self, count: int = 2) -> None:
        """Let the poller poll ``count`` more times."""
        target = len(self.telegram.offsets) + count
        await until(lambda: len(self.telegram.offsets) >= target)


async def until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def recorded(path: Path) -> set[int] | None:
    """The ids in ANSWERED_FILE's record, None when it records none (or there is no file)."""
    try:
        return set(read_record(path).get("answered", [])) or None
    except FileNotFoundError:
        return None


def test_answered_updates_above_an_unanswered_one_are_on_disk_at_once_and_skipped_after_a_kill(tmp_path):
    answered_file = tmp_path / "answered.json"

    async def scenario():
        telegram = FakeTelegram(1, 2, 3, 4, 5)
        first = Bot(telegram, answered_file)
        await first.poller.start()
        assert await first.received(5) == [1, 2, 3, 4, 5]
        first.answer(2, 3, 4, 5)  # 1 still in flight
        await until(lambda: recorded(answered_file) == {2, 3, 4, 5})
        await first.polls()
        assert set(telegram.offsets) == {0, 1}, "the offset passed an unanswered update"

        await first.poller.stop()  # a kill -9: no confirm(), nothing written at the stop
        assert telegram.pending == [1, 2, 3, 4, 5]

        second = Bot(telegram, answered_file)
        await second.poller.start()
        assert await second.received(1) == [1]
        await second.polls()
        assert second.queue.empty(), "updates answered before the kill were handed to the bot again"
        second.answer(1)
        await until(lambda: telegram.pending == [])
        assert max(telegram.offsets) == 6
        telegram.send(6)  # ends the long poll that carried offset 6: Telegram has confirmed 1 to 5
        assert await second.received(1) == [6]
        await until(lambda: recorded(answered_file) is None)
        await second.poller.stop()

    asyncio.run(scenario())


def test_ids_telegram_has_confirmed_leave_the_file_and_the_last_answer_is_not_written(tmp_path):
    answered_file = tmp_path / "answered.json"

    async def scenario():
        telegram = FakeTelegram(1, 2, 3)
        bot = Bot(telegram, answered_file)
        await bot.poller.start()
        await bot.received(3)
        bot.answer(2, 3)
        await until(lambda: recorded(answered_file) == {2, 3})
        telegram.send(4)
        assert await bot.received(1) == [4]
        bot.answer(1)  # 4 is in flight now: offset 4 confirms 1 to 3
        await until(lambda: 4 in telegram.offsets)
        await bot.polls()
        assert recorded(answered_file) is None
        assert telegram.pending == [4]

        writes = []
        bot.poller.answered.add = lambda *ids: writes.append(ids)
        bot.answer(4)  # the last in flight: the next poll confirms it, no write
        await until(lambda: 5 in telegram.offsets)
        assert writes == [] and recorded(answered_file) is None
        await bot.poller.stop()

    asyncio.run(scenario())


def test_a_poll_that_failed_confirmed_nothing_and_drops_nothing_from_the_file(tmp_path):
    answered_file = tmp_path / "answered.json"

    async def scenario():
        telegram = FakeTelegram(1, 2, 3, 4)
        first = Bot(telegram, answered_file)
        await first.poller.start()
        await first.received(4)
        first.answer(2, 3)
        telegram.unreachable = True
        first.answer(1)  # 4 in flight: the next poll carries offset 4, and fails
        await until(lambda: 4 in telegram.offsets)
        await asyncio.sleep(0.2)
        assert recorded(answered_file) == {1, 2, 3}
        await first.poller.stop()  # a kill -9

        telegram.unreachable = False
        second = Bot(telegram, answered_file)
        await second.poller.start()
        assert await second.received(1) == [4]
        await second.polls()
        assert second.queue.empty()
        await second.poller.stop()

    asyncio.run(scenario())


def test_a_graceful_stop_keeps_only_the_answered_updates_telegram_will_send_again(tmp_path):
    answered_file = tmp_path / "answered.json"

    async def scenario():
        telegram = FakeTelegram(1, 2, 3, 4)
        bot = Bot(telegram, answered_file)
        await bot.poller.start()
        await bot.received(4)
        bot.answer(1, 3)  # 2 is never answered
        await bot.poller.stop()
        bot.deliveries.abandon()
        await bot.poller.confirm()
        assert telegram.offsets[-1] == 2 and telegram.pending == [2, 3, 4]
        assert recorded(answered_file) == {3}

    asyncio.run(scenario())


def test_an_unreadable_file_is_logged_and_the_bot_starts_and_answers(tmp_path, caplog):
    answered_file = tmp_path / "answered.json"
    answered_file.write_text('{"answered": [1, 2')  # torn: written in place by something else

    async def scenario():
        telegram = FakeTelegram(1, 2)
        bot = Bot(telegram, answered_file)
        await bot.poller.start()
        assert await bot.received(2) == [1, 2]
        bot.answer(1, 2)
        await until(lambda: telegram.pending == [])
        await bot.poller.stop()
        await bot.poller.confirm()

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert f"ignoring {answered_file}" in caplog.text
    assert recorded(answered_file) is None, "the unreadable file outlived a stop with nothing to keep"


WRITER = """
import asyncio, sys
from pathlib import Path
from lookalike.bot.answered_file import AnsweredFile

async def main():
    answered = AnsweredFile(Path(sys.argv[1]))
    update_id = 0
    while True:
        update_id += 1
        answered.add(*range(update_id * 7, update_id * 7 + 100))
        answered.drop_below(update_id * 7)
        await answered.flush()

asyncio.run(main())
"""


def test_a_kill_at_any_instant_leaves_the_old_record_or_the_new_one(tmp_path):
    """A process writing records as fast as it can, killed with SIGKILL at random instants."""
    answered_file = tmp_path / "answered.json"
    chance = random.Random(7)
    for _ in range(30):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(answered_file)], cwd=ROOT)
        deadline = time.monotonic() + 20
        while not _recorded_yet(answered_file) and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(chance.uniform(0, 0.05))
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(10) == -signal.SIGKILL
        ids = sorted(recorded(answered_file))
        assert len(ids) == 100 and ids == list(range(ids[0], ids[0] + 100)), ids


def _recorded_yet(path: Path) -> bool:
    try:
        return recorded(path) is not None
    except (FileNotFoundError, ValueError):
        return False


def test_more_than_a_window_in_flight_is_kept_whole_confirmed_and_answered_after_a_kill(tmp_path):
    """150 photos in flight (sends failing): getUpdates hands over 100 at most; the 100 are kept
    whole in ANSWERED_FILE before the offset passes them, so the next 50 come, and a kill -9
    then loses none: the next start answers the kept ones, Telegram sends the rest again."""
    answered_file = tmp_path / "answered.json"

    async def scenario():
        telegram = FakeTelegram(*range(1, 151))
        first = Bot(telegram, answered_file)
        await first.poller.start()
        assert await first.received(150) == list(range(1, 151))
        assert min(telegram.pending) == 101, "the window was confirmed before its updates were kept"
        assert {u["update_id"] for u in read_record(answered_file)["kept"]} == set(range(1, 101))
        first.answer(*range(1, 11))  # answered meanwhile: they leave the file
        await until(lambda: len(read_record(answered_file)["kept"]) == 90)
        await first.poller.stop()  # a kill -9

        second = Bot(telegram, answered_file)
        await second.poller.start()
        again = await second.received(140)
        assert sorted(again) == list(range(11, 151)), "an update was lost or handed over twice"
        second.answer(*again)
        await until(lambda: telegram.pending == [] and read_record(answered_file)["kept"] == [])
        await second.poller.stop()

    asyncio.run(scenario())


def test_a_full_window_that_cannot_be_kept_is_not_confirmed(tmp_path, monkeypatch, caplog):
    answered_file = tmp_path / "answered.json"

    async def scenario():
        telegram = FakeTelegram(*range(1, 121))
        bot = Bot(telegram, answered_file)
        await bot.poller.start()
        monkeypatch.setattr(bot.poller.answered, "_write", lambda record: False)  # the disk full
        assert await bot.received(100) == list(range(1, 101))
        await bot.polls(3)
        assert set(telegram.offsets) <= {0, 1} and bot.queue.empty(), "updates were confirmed unanswered"
        monkeypatch.undo()  # space again
        assert await bot.received(20) == list(range(101, 121))
        await bot.poller.stop()

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert "cannot be written: new updates wait" in caplog.text


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (root only), unmounted after the test."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> None:
    """Take every free byte of ``disk``."""
    with open(disk / "filler", "wb", buffering=0) as out:
        for size in (1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * size)


def test_a_full_disk_does_not_stop_the_record_its_space_is_reserved(small_disk):
    answered = AnsweredFile(small_disk / "answered.json")

    async def scenario():
        answered.load()  # the first start: the space is reserved
        fill(small_disk)
        for update_id in range(1, 301):  # each write in place, into the reserved space
            answered.add(update_id)
            answered.drop_below(update_id - 50)
            assert await answered.flush(), "a write failed on the full disk"
        assert read_record(answered.path)["answered"] == list(range(250, 301))

        big = [{"update_id": i, "message": {"text": "x" * 1000}} for i in range(1, 201)]
        answered.keep(big)  # 200 KB: more than the slots hold, and no room to grow
        assert not await answered.flush()
        assert read_record(answered.path).get("kept", []) == [], "a torn or partial record was written"
        (small_disk / "filler").unlink()
        assert await answered.flush()
        assert len(read_record(answered.path)["kept"]) == 200
        answered.close()

    asyncio.run(scenario())


def test_a_record_torn_in_its_slot_leaves_the_one_before(tmp_path):
    answered = AnsweredFile(tmp_path / "answered.json")

    async def scenario():
        answered.load()
        answered.add(1, 2)
        await answered.flush()
        answered.add(3)
        await answered.flush()
        answered.close()

    asyncio.run(scenario())
    data = bytearray(answered.path.read_bytes())
    newest = data.rfind(b"lookalike-answered seq=2")
    assert newest >= 0
    data[newest + 60] ^= 0xFF  # a power loss mid-write: the newest slot's bytes half old
    answered.path.write_bytes(bytes(data))
    assert read_record(answered.path)["answered"] == [1, 2]
