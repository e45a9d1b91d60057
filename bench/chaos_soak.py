"""A day of traffic with faults: the real bot.py against the tests' fake Bot API, hundreds of
users sending photos at a steady rate with bursts, while a schedule injects faults.

    python bench/chaos_soak.py [--minutes 20] [--rate 5] [--users 400] [--webhook] [--gallery DIR]
                               [--celebrities 100000] [--cycle-minutes 10] [--work DIR] [--seed 0]

The bot (``python bot.py``, WORKERS=2, by long polling or with ``--webhook`` by webhook) runs
on a gallery (``--gallery``, else a synthetic one of ``--celebrities`` made once in --work by
million_bot.py's maker) through ASSETS_DIR, a symlink. Its ANSWERED_FILE, STATS_FILE and
LOG_KEY_FILE live on a small tmpfs of their own (mounted here; root only), so that the disk can
be filled. The run is cycles of ``--cycle-minutes``; each cycle begins with a calm stretch (the
fault-free baseline), then runs the faults (times below for a 10-minute cycle; shorter cycles
scale them):

    0:00-3:00  calm: no fault (the baseline's answers)
    3:00       the face workers killed with SIGKILL
    3:30-4:00  sends (sendPhoto, sendMessage) answered 500
    4:30-5:30  a 429 storm on sends: "retry after 5" for a minute (past PTB's limiter's 5 waits)
    5:45-6:45  slow downloads: each file's bytes come 3 s late
    7:00-7:30  downloads (getFile and the file) answered 500
    7:50       a new assets directory swapped in (the symlink turned to a copy of the gallery)
    8:20-9:20  the state tmpfs full (ANSWERED_FILE cannot grow); in the first cycle the bot is
               killed with SIGKILL inside this window (at 8:50), and restarted 2 s later
    9:40       the bot killed with SIGKILL and restarted 2 s later (4th, 7th... cycles), else the
               workers again

Users: ``--users`` in private chats, each sending a photo (an LFW face or a sample portrait
at Telegram's sizes), waiting for its answer, then resting 10-90 s; arrivals at ``--rate`` a
second (Poisson) from those at rest; every 2 minutes a burst of 40 photos at once; every
5 minutes a group's members send CHAT_PENDING + 4 photos at once (the group's answers are
Telegram-paced, the rest told "busy").

Answers are counted from the fake Bot API's records: in a group by the message each answer
quotes; in a private chat in order (a user's next photo waits for the previous answer, so
an answer that comes while none of the user's photos waits is a second answer). At the end
the traffic stops, every photo is waited for (up to 10 minutes), the bot is stopped with
SIGTERM (exit 0 expected), and every bot log is searched for a traceback.

Printed: photos sent, answered exactly once, answered twice (must be 0), lost (must be 0),
told busy (and how many of those after waiting: admitted, then let go by their deadline);
answer p50/p99 of look-alikes in private chats (a group's are paced by Telegram) in the calm
stretches, the baseline, against those neither sent nor answered in a fault window or the 15 s
after it (scaled with the cycle); RSS and open files of the bot's main process and its workers
over time, per incarnation; the load average. The last line is the figures.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import functools
import itertools
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from common import LFW, ROOT, SAMPLES, load_average, table

sys.path.insert(0, str(ROOT))

from tests.support.bot_api import FakeBotApi, RecordedCall, photo_sizes_from_image
from tests.support.bot_harness import TOKEN, BotProcess, kill_workers, pool_workers

CHAT_PENDING = 10
BUSY_TEXT = None  # filled at start from the bot's texts (English)
SENDS = ["sendPhoto", "sendMessage"]
DOWNLOADS = ["getFile", "downloadFile"]


# ------------------------------------------------------------------ the schedule


@dataclasses.dataclass
class Fault:
    name: str
    at: float  # seconds from the run's start
    seconds: float = 0.0  # how long it lasts (0: an instant, recovered from as fast as the bot can)
    started: float | None = None  # monotonic times, once it ran
    ended: float | None = None
    note: str = ""

    def window(self, margin: float) -> tuple[float, float] | None:
        if self.started is None:
            return None
        return self.started, (self.ended or self.started) + margin


def schedule(minutes: float, cycle_minutes: float) -> list[Fault]:
    """The faults of a run, cycle by cycle (see the module's docstring)."""
    cycle = cycle_minutes * 60
    scale = cycle / 600

    def at(cycle_start: float, minute_second: str) -> float:
        minutes_, seconds = minute_second.split(":")
        return cycle_start + (int(minutes_) * 60 + int(seconds)) * scale

    faults = []
    for number in range(max(1, int(minutes * 60 // cycle))):
        start = number * cycle
        faults += [
            Fault("workers SIGKILL", at(start, "3:00")),
            Fault("sends 500", at(start, "3:30"), 30 * scale),
            Fault("sends 429 storm", at(start, "4:30"), 60 * scale),
            Fault("slow downloads", at(start, "5:45"), 60 * scale),
            Fault("downloads 500", at(start, "7:00"), 30 * scale),
            Fault("new assets directory", at(start, "7:50")),
            Fault("disk full", at(start, "8:20"), 60 * scale),
        ]
        if number == 0:  # the state's disk full: the record of answered updates cannot be written
            faults.append(Fault("bot SIGKILL", at(start, "8:50")))
        if number == 1:  # sends failing: more updates in flight than getUpdates' window of 100
            faults.append(Fault("bot SIGKILL", at(start, "3:55")))
        faults.append(Fault("bot SIGKILL" if number == 2 else "workers SIGKILL", at(start, "9:40")))
    return sorted(faults, key=lambda fault: fault.at)


def calm_stretches(minutes: float, cycle_minutes: float) -> list[tuple[float, float]]:
    """The calm stretch of each cycle, in seconds from the start (the first one after a warm-up)."""
    cycle = cycle_minutes * 60
    return [
        (n * cycle + (cycle * 0.05 if n == 0 else 0), n * cycle + 0.3 * cycle)
        for n in range(int(minutes * 60 // cycle))
    ]


# ------------------------------------------------------------------ the bot, supervised


class Supervisor:
    """bot.py as systemd or compose runs it: started, restarted after a SIGKILL, stopped at the end."""

    def __init__(self, api: FakeBotApi, folder: Path, assets: Path, state: Path, webhook_port: int | None):
        self.api, self.folder, self.assets, self.state = api, folder, assets, state
        self.metrics_port = free_port()
        self.env = {
            **api.bot_environment(),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "ASSETS_DIR": str(assets),
            "WORKERS": "2",
            "METRICS_PORT": str(self.metrics_port),
            "METRICS_LISTEN": "127.0.0.1",
            "INDEX_POLL_SECONDS": "2",
            "CHAT_PENDING": str(CHAT_PENDING),
            "ANSWERED_FILE": str(state / "answered-updates.json"),
        }
        if webhook_port is not None:
            self.env |= {
                "WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/telegram",
                "WEBHOOK_SECRET": "soak-secret",
                "LISTEN": "127.0.0.1",
                "PORT": str(webhook_port),
            }
        self.incarnations: list[BotProcess] = []
        self.lock = threading.Lock()

    @property
    def bot(self) -> BotProcess:
        return self.incarnations[-1]

    def start(self) -> float:
        """Start a new incarnation; the seconds until /readyz said 200."""
        started = time.monotonic()
        with self.lock:
            log = self.folder / f"bot-{len(self.incarnations) + 1}.log"
            self.incarnations.append(BotProcess(self.env, log))
        self.wait_ready()
        return time.monotonic() - started

    def wait_ready(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.bot.process.poll() is not None:
                raise SystemExit(f"the bot exited with {self.bot.process.returncode}:\n{self.bot.log()[-3000:]}")
            if self.ready():
                return
            time.sleep(0.2)
        raise SystemExit(f"the bot was not ready within {timeout} s:\n{self.bot.log()[-3000:]}")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/readyz", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def kill_and_restart(self, pause: float = 2.0) -> None:
        """SIGKILL to the bot's main process (as the OOM killer does; its workers follow it by
        their lifeline), then a new one after ``pause`` (systemd's RestartSec)."""
        old = self.bot
        os.kill(old.pid, signal.SIGKILL)
        old.process.wait(30)
        old.stop()
        time.sleep(pause)
        self.start()

    def stop(self) -> int:
        return self.bot.stop()

    def logs(self) -> str:
        return "\n".join(bot.log() for bot in self.incarnations)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ the state's small disk


class StateDisk:
    """A tmpfs for ANSWERED_FILE and its neighbours, filled and freed on cue; a plain folder
    (and no disk-full fault) when mounting is not allowed."""

    def __init__(self, path: Path, size_mb: int = 16):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
            check=False,
            capture_output=True,
            text=True,
        )
        self.mounted = mounted.returncode == 0
        self.why_not = mounted.stderr.strip()
        self.filler = path / "filler"

    def fill(self) -> None:
        """Every free byte taken: large writes, then smaller ones down to a byte."""
        with open(self.filler, "wb", buffering=0) as out:
            for size in (1 << 16, 1 << 12, 1 << 8, 1):
                with contextlib.suppress(OSError):
                    while True:
                        out.write(b"\0" * size)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False)


# ------------------------------------------------------------------ photos, users and their answers


def soak_photos(count: int) -> list[list[tuple[int, int, bytes]]]:
    """Photos as Telegram's renditions, made once: LFW faces (250 px) and sample portraits
    (Telegram's 1280 px size and smaller)."""
    people = sorted(p for p in LFW.iterdir() if p.is_dir())
    step = max(1, len(people) // count)
    faces = [sorted(p.glob("*.jpg"))[0].read_bytes() for p in people[::step][:count]]
    portraits = [p.read_bytes() for p in sorted((SAMPLES / "face_recognition").glob("*.jpg"))[:20]]
    return [photo_sizes_from_image(data) for data in faces + portraits]


@dataclasses.dataclass
class Photo:
    chat_id: int
    user_id: int
    message_id: int
    update_id: int
    sent: float
    answers: list[RecordedCall] = dataclasses.field(default_factory=list)

    @property
    def answered(self) -> float | None:
        return self.answers[0].timestamp if self.answers else None

    def kind(self) -> str:
        if not self.answers:
            return "lost"
        first = self.answers[0]
        if first.method == "sendPhoto":
            return "look-alike"
        return "busy" if first.params.get("text") == BUSY_TEXT else "other text"


class Ledger:
    """Every photo sent and the answers the fake Bot API recorded for it."""

    def __init__(self, api: FakeBotApi):
        self.api = api
        self.photos: list[Photo] = []
        self.by_message: dict[tuple[int, int], Photo] = {}
        self.waiting: dict[int, collections.deque[Photo]] = collections.defaultdict(collections.deque)
        self.surplus: list[RecordedCall] = []  # answers to a chat that never sent a photo
        self.last_answered: dict[int, Photo] = {}
        self.lock = threading.Lock()
        self._cursor = 0

    def sent(self, photo: Photo) -> None:
        with self.lock:
            self.photos.append(photo)
            self.by_message[(photo.chat_id, photo.message_id)] = photo
            self.waiting[photo.chat_id].append(photo)

    def catch_up(self) -> None:
        calls, self._cursor = self.api.calls_since(self._cursor)
        with self.lock:
            for call in calls:
                if call.ok and call.is_message and isinstance(call.chat_id, int):
                    self._attribute(call)

    def _attribute(self, call: RecordedCall) -> None:
        """An answer to the photo it quotes (a group), or to the chat's oldest waiting photo; one
        that comes while none waits is a second answer, counted to the chat's last answered photo."""
        quoted = call.params.get("reply_parameters")
        photo = None
        if isinstance(quoted, dict) and call.chat_id < 0:
            photo = self.by_message.get((call.chat_id, quoted.get("message_id")))
            if photo is not None and photo in self.waiting[call.chat_id]:
                self.waiting[call.chat_id].remove(photo)
        elif self.waiting[call.chat_id]:
            photo = self.waiting[call.chat_id].popleft()
        else:
            photo = self.last_answered.get(call.chat_id)
        if photo is None:
            self.surplus.append(call)
            return
        photo.answers.append(call)
        self.last_answered[call.chat_id] = photo

    def outstanding(self, chat_id: int) -> int:
        with self.lock:
            return len(self.waiting[chat_id])

    def unanswered(self) -> int:
        with self.lock:
            return sum(1 for photo in self.photos if not photo.answers)


class Traffic:
    """Users sending photos: Poisson arrivals from the users at rest, bursts, a group's burst."""

    def __init__(self, api: FakeBotApi, ledger: Ledger, photos: list, users: int, rate: float, seed: int):
        self.api, self.ledger, self.photos, self.rate = api, ledger, photos, rate
        self.random = random.Random(seed)
        self.users = list(range(10_000, 10_000 + users))
        self.resting_until = dict.fromkeys(self.users, 0.0)
        self.groups = [-1_000_000 - n for n in range(3)]
        self.members = itertools.count(9_000_000)
        self.stop = threading.Event()
        self.skipped = 0  # arrivals with no user at rest
        self.thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _idle_users(self) -> list[int]:
        now = time.monotonic()
        idle = []
        for user in self.users:
            if self.resting_until[user] > now:
                continue
            if self.ledger.outstanding(user):
                continue
            idle.append(user)
        return idle

    def send(self, user: int, chat_id: int | None = None, chat_type: str = "private") -> None:
        sizes = self.random.choice(self.photos)
        update = self.api.send_photo_update(user, chat_id, sizes=sizes, chat_type=chat_type)
        message = update["message"]
        self.ledger.sent(
            Photo(message["chat"]["id"], user, message["message_id"], update["update_id"], time.monotonic())
        )
        if chat_type == "private":
            self.resting_until[user] = math.inf  # until its answer comes

    def burst(self, count: int) -> None:
        idle = self._idle_users()
        for user in self.random.sample(idle, min(count, len(idle))):
            self.send(user)

    def group_burst(self) -> None:
        group = self.random.choice(self.groups)
        for _ in range(CHAT_PENDING + 4):
            self.send(next(self.members), group, "group")

    def _run(self) -> None:
        next_arrival = time.monotonic()
        next_burst = time.monotonic() + 120
        next_group = time.monotonic() + 300
        while not self.stop.is_set():
            now = time.monotonic()
            for user, until in self.resting_until.items():  # answered users rest, then may send again
                if until == math.inf and not self.ledger.outstanding(user):
                    self.resting_until[user] = now + self.random.uniform(10, 90)
            if now >= next_arrival:
                idle = self._idle_users()
                if idle:
                    self.send(self.random.choice(idle))
                else:
                    self.skipped += 1
                next_arrival += self.random.expovariate(self.rate)
            if now >= next_burst:
                self.burst(40)
                next_burst += 120
            if now >= next_group:
                self.group_burst()
                next_group += 300
            self.stop.wait(max(0.0, min(next_arrival, next_burst, next_group) - time.monotonic()))


# ------------------------------------------------------------------ RSS and open files


@dataclasses.dataclass
class Sample:
    at: float
    incarnation: int
    rss_mb: float
    fds: int
    threads: int
    workers_rss_mb: float


class Monitor:
    def __init__(self, supervisor: Supervisor, every: float = 10.0):
        self.supervisor, self.every = supervisor, every
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="monitor", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            with contextlib.suppress(OSError, ValueError, IndexError):
                with self.supervisor.lock:
                    number, pid = len(self.supervisor.incarnations), self.supervisor.bot.pid
                status = _status(pid)
                workers = sum(_status(worker).get("VmRSS", 0) for worker in pool_workers(pid))
                self.samples.append(
                    Sample(
                        time.monotonic(),
                        number,
                        status["VmRSS"] / 1024,
                        sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir()),
                        int(status["Threads"]),
                        workers / 1024,
                    )
                )


def _status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "Threads"):
            fields[name] = int(value.split()[0])
    return fields


# ------------------------------------------------------------------ the run


class Run:
    def __init__(self, args: argparse.Namespace, gallery: Path, work: Path):
        self.args = args
        self.folder = work / ("run-webhook" if args.webhook else "run-polling")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.galleries = [gallery, work / f"{gallery.name}-copy"]
        if not (self.galleries[1] / "index.json").exists():
            staging = self.galleries[1].with_name(self.galleries[1].name + ".new")
            shutil.rmtree(staging, ignore_errors=True)
            subprocess.run(["cp", "-a", str(gallery), str(staging)], check=True)
            staging.rename(self.galleries[1])
        self.assets = self.folder / "assets"
        point(self.assets, self.galleries[0])
        self.disk = StateDisk(self.folder / "state")
        self.faults = schedule(args.minutes, args.cycle_minutes)
        self.margin = 15 * args.cycle_minutes / 10  # a fault's backlog is cleared by then

    def execute(self) -> dict:
        global BUSY_TEXT
        from lookalike.answering.texts import say

        BUSY_TEXT = say("en", "busy")
        photos = soak_photos(150)
        webhook_port = free_port() if self.args.webhook else None
        api = FakeBotApi(token=TOKEN, renditions=False)
        api.start()
        ledger = Ledger(api)
        supervisor = Supervisor(api, self.folder, self.assets, self.disk.path, webhook_port)
        try:
            first_ready = supervisor.start()
            self.started = time.monotonic()
            traffic = Traffic(api, ledger, photos, self.args.users, self.args.rate, self.args.seed)
            monitor = Monitor(supervisor, every=max(2.0, 10 * self.args.cycle_minutes / 10))
            traffic.start()
            monitor.start()
            counting = threading.Thread(target=self._count, args=(ledger,), daemon=True)
            counting.start()
            self._inject(api, supervisor)
            traffic.stop.set()
            traffic.thread.join(10)
            drained = self._drain(ledger)
            time.sleep(5)  # a second answer would have come by now
            ledger.catch_up()
            monitor.stop.set()
            exit_code = supervisor.stop()
            ledger.catch_up()
        finally:
            for bot in supervisor.incarnations:
                bot.stop()
            api.stop()
            self.disk.free()
            self.disk.unmount()
        logs = supervisor.logs()
        return {
            "ledger": ledger,
            "traffic": traffic,
            "samples": monitor.samples,
            "first_ready_s": first_ready,
            "drained_s": drained,
            "exit_code": exit_code,
            "tracebacks": logs.count("Traceback"),
            "logs": logs,
            "incarnations": len(supervisor.incarnations),
            "webhook_posts": len(api.webhook_posts),
        }

    def _count(self, ledger: Ledger) -> None:
        while True:
            ledger.catch_up()
            time.sleep(0.2)

    def _inject(self, api: FakeBotApi, supervisor: Supervisor) -> None:
        end = self.started + self.args.minutes * 60
        reloads = 0
        for fault in self.faults:
            if self.started + fault.at >= end:
                break
            time.sleep(max(0.0, self.started + fault.at - time.monotonic()))
            fault.started = time.monotonic()
            print(f"  {(fault.started - self.started) / 60:5.1f} min  {fault.name}", flush=True)
            if fault.name == "workers SIGKILL":
                killed = kill_workers(supervisor.bot.pid)
                self._wait(functools.partial(self._workers_back, supervisor, killed), 120)
            elif fault.name == "sends 500":
                api.fail_for(fault.seconds, SENDS, status=500)
            elif fault.name == "sends 429 storm":
                api.fail_for(fault.seconds, SENDS, status=429, retry_after=5)
            elif fault.name == "slow downloads":
                api.slow_downloads_for(fault.seconds, delay=3.0)
            elif fault.name == "downloads 500":
                api.fail_for(fault.seconds, DOWNLOADS, status=500)
            elif fault.name == "new assets directory":
                reloads += 1
                mark = len(supervisor.bot.log())
                point(self.assets, self.galleries[reloads % 2])
                with contextlib.suppress(AssertionError):
                    supervisor.bot.wait_for_log(r"index reloaded from", timeout=300, after=mark)
            elif fault.name == "disk full":
                if not self.disk.mounted:
                    fault.note = f"skipped: {self.disk.why_not}"
                    fault.ended = fault.started
                    continue
                self.disk.fill()
                threading.Timer(fault.seconds, self._free_disk, args=(fault,)).start()
                continue
            elif fault.name == "bot SIGKILL":
                supervisor.kill_and_restart()
            fault.ended = fault.started + fault.seconds if fault.seconds else time.monotonic()
        time.sleep(max(0.0, end - time.monotonic()))

    def _free_disk(self, fault: Fault) -> None:
        self.disk.free()
        fault.ended = time.monotonic()

    @staticmethod
    def _workers_back(supervisor: Supervisor, killed: set[int]) -> bool:
        workers = pool_workers(supervisor.bot.pid)
        return len(workers) == 2 and not workers & killed and supervisor.ready()

    @staticmethod
    def _wait(condition, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.2)

    def _drain(self, ledger: Ledger, timeout: float = 600.0) -> float:
        started = time.monotonic()
        while ledger.unanswered() and time.monotonic() - started < timeout:
            time.sleep(0.5)
        return time.monotonic() - started


def point(link: Path, target: Path) -> None:
    """Turn the symlink ``link`` to ``target`` in one rename, as a deployment swaps releases."""
    new = link.with_name(link.name + ".new")
    new.unlink(missing_ok=True)
    new.symlink_to(target)
    os.replace(new, link)


# ------------------------------------------------------------------ the figures


def figures(run: Run, result: dict) -> dict:
    ledger: Ledger = result["ledger"]
    photos = ledger.photos
    kinds = collections.Counter(photo.kind() for photo in photos)
    twice = sum(1 for photo in photos if len(photo.answers) > 1) + len(ledger.surplus)
    windows = [w for w in (fault.window(run.margin) for fault in run.faults) if w is not None]
    calm = [(run.started + a, run.started + b) for a, b in calm_stretches(run.args.minutes, run.args.cycle_minutes)]

    def touches(photo: Photo, spans) -> bool:
        end = photo.answered or math.inf
        return any(photo.sent < b and end > a for a, b in spans)

    def inside(photo: Photo, spans) -> bool:
        return any(a <= photo.sent and (photo.answered or math.inf) <= b for a, b in spans)

    looks = [photo for photo in photos if photo.kind() == "look-alike" and photo.chat_id > 0]  # groups: paced
    baseline = np.array([p.answered - p.sent for p in looks if inside(p, calm) and not touches(p, windows)])
    outside = np.array([p.answered - p.sent for p in looks if not touches(p, windows) and not inside(p, calm)])
    during = np.array([p.answered - p.sent for p in looks if touches(p, windows)])
    logged = collections.Counter(
        int(m) for m in re.findall(r"update=(\d+) \S+ kind=(?:photo|document)", result["logs"])
    )
    late = len(re.findall(r"kind=(?:photo|document) outcome=busy\(late\)", result["logs"]))
    return {
        "sent": len(photos),
        "once": sum(1 for photo in photos if len(photo.answers) == 1),
        "twice": twice,
        "lost": kinds["lost"],
        "busy": kinds["busy"],
        "busy late": late,
        "kinds": kinds,
        "handled twice (log)": sum(1 for count in logged.values() if count > 1),
        "never logged": sum(1 for photo in photos if photo.update_id not in logged),
        "baseline": baseline,
        "outside": outside,
        "during": during,
    }


def quantiles(values: np.ndarray) -> str:
    if not len(values):
        return "- / -"
    return f"{1000 * np.median(values):.0f} / {1000 * np.quantile(values, 0.99):.0f}"


def report(run: Run, result: dict) -> str:
    f = figures(run, result)
    print()
    print(
        table(
            ["fault", "at min", "lasted s", "note"],
            [
                [
                    fault.name,
                    f"{(fault.started - run.started) / 60:.1f}" if fault.started else "-",
                    f"{fault.ended - fault.started:.1f}" if fault.started and fault.ended else "-",
                    fault.note,
                ]
                for fault in run.faults
                if fault.started
            ],
        )
    )
    print()
    print(
        table(
            ["answers", "photos", "p50 / p99 ms"],
            [
                ["look-alikes in the calm stretches (the baseline)", len(f["baseline"]), quantiles(f["baseline"])],
                ["look-alikes outside fault windows", len(f["outside"]), quantiles(f["outside"])],
                ["look-alikes during a fault or its margin", len(f["during"]), quantiles(f["during"])],
            ],
        )
    )
    print()
    print(rss_table(run, result["samples"]))
    ratio = (
        np.quantile(f["outside"], 0.99) / np.quantile(f["baseline"], 0.99)
        if len(f["outside"]) and len(f["baseline"])
        else math.nan
    )
    traffic: Traffic = result["traffic"]
    print(
        f"\n{result['incarnations']} bot incarnations; first ready in {result['first_ready_s']:.1f} s; "
        f"drained in {result['drained_s']:.0f} s after the traffic stopped; exit status at the end "
        f"{result['exit_code']}; arrivals with no user at rest {traffic.skipped}; answers by kind "
        f"{dict(f['kinds'])}; by the bot's logs: updates handled twice {f['handled twice (log)']}, photos never "
        f"logged {f['never logged']}" + (f"; webhook POSTs {result['webhook_posts']}" if run.args.webhook else "")
    )
    mode = "webhook" if run.args.webhook else "long polling"
    return (
        f"chaos soak ({mode}, {run.args.minutes:g} min, {run.args.rate:g} photos/s, {run.args.users} users): "
        f"{f['sent']} photos sent, {f['once']} answered exactly once, {f['twice']} twice, {f['lost']} lost, "
        f"{f['busy']} told busy ({f['busy late']} of them after waiting); look-alike p50/p99 outside fault windows {quantiles(f['outside'])} ms against "
        f"{quantiles(f['baseline'])} ms calm ({ratio:.2f}x); {flatness(result['samples'], run)}; "
        f"tracebacks {result['tracebacks']}; {load_average()}"
    )


def rss_table(run: Run, samples: list[Sample]) -> str:
    rows = []
    step = max(1, len(samples) // 24)
    for sample in samples[::step]:
        rows.append(
            [
                f"{(sample.at - run.started) / 60:.1f}",
                sample.incarnation,
                f"{sample.rss_mb:.0f}",
                f"{sample.workers_rss_mb:.0f}",
                sample.fds,
                sample.threads,
            ]
        )
    return table(["min", "bot", "RSS MB", "workers' RSS MB", "open files", "threads"], rows)


def flatness(samples: list[Sample], run: Run) -> str:
    """RSS and open files after the first 10 minutes (a tenth of a short run), per incarnation: the range."""
    settle = run.started + min(600, run.args.minutes * 6)
    late = [s for s in samples if s.at >= settle]
    if not late:
        return "RSS/fds: no samples after the warm-up"
    parts = []
    for number in sorted({s.incarnation for s in late}):
        mine = [s for s in late if s.incarnation == number]
        rss = [s.rss_mb for s in mine]
        fds = [s.fds for s in mine]
        parts.append(f"bot {number}: RSS {min(rss):.0f}-{max(rss):.0f} MB, fds {min(fds)}-{max(fds)}")
    return "after the first 10 min " + ", ".join(parts)


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--rate", type=float, default=5.0, help="photos a second, on average, besides the bursts")
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--webhook", action="store_true")
    parser.add_argument("--gallery", type=Path, help="an assets directory (else a synthetic one of --celebrities)")
    parser.add_argument("--celebrities", type=int, default=100_000)
    parser.add_argument("--cycle-minutes", type=float, default=10)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".cache" / "chaos")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not LFW.exists():
        print(f"SKIPPED: {LFW} not found")
        return
    args.work.mkdir(parents=True, exist_ok=True)
    gallery = args.gallery or synthetic_gallery(args.celebrities, args.work)
    run = Run(args, gallery.resolve(), args.work)
    print(f"chaos soak: {args.minutes:g} min on {gallery} ({load_average()}); faults:", flush=True)
    result = run.execute()
    print(report(run, result), flush=True)


def synthetic_gallery(size: int, work: Path) -> Path:
    """A gallery of ``size`` synthetic celebrities, made once in ``work`` (million_bot.py's maker)."""
    out = work / f"gallery-{size}"
    if not (out / "index.json").exists():
        command = [sys.executable, str(ROOT / "bench" / "million_bot.py"), "--make", str(size), "3", str(out)]
        subprocess.run(command, check=True)
    return out


if __name__ == "__main__":
    main()
