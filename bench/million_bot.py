"""A million celebrities end to end: the builder's make_index and index files, then the real bot on them.

    python bench/million_bot.py [--celebrities 1000000] [--small 3000] [--photos 200] [--work DIR]

1. Galleries. Synthetic celebrities (synth.py), women made from LFW's women and men from
   its men in LFW's proportions, labelled so, 1-3 photos each scattered by LFW's
   within-person spread, each photo's gender classifier score drawn from LFW's scores of
   that gender. They go through the builder's own path: ``build.Entry`` values ->
   ``build.make_index`` (ranking reach, fused gender probe, graphs and calibration,
   "this is X" rule) -> ``index.save`` into a directory swapped in by ``staged_directory``.
   Every thumbnail is a symlink to one real thumbnail (the bot reads them like files).
   Two galleries are made: --small celebrities (the baseline) and --celebrities (A); B, the
   hot reload's new index, is A's files copied into a directory of their own (what a
   rebuild of the same gallery gives the bot; a second 1M build would double the run). Each is made in a
   child process, whose wall and CPU time, peak RSS and the time of make_index's parts
   are printed; a gallery already in --work is reused (delete it to measure again).
2. The bot. ``python bot.py`` (WORKERS=2) against the tests' fake Bot API
   (tests/support/bot_api/), on the small gallery and on A: time from start to
   /readyz 200, RSS of the bot's main process when ready (its face workers are separate
   processes and never hold the index), and answer times (photo update queued -> the
   answer's sendPhoto received) of --photos LFW photos sent one after another.
3. Hot reload. On A, photos keep coming (one every --interval seconds from new users)
   while ASSETS_DIR, a symlink, is turned to B (as deployments swap releases); the bot's peak RSS since just before the swap
   (VmHWM reset through /proc/PID/clear_refs), the time to "index reloaded", every photo
   answered exactly once, the longest gap between answers during the reload against the
   longest before it, and the slowest answer to a photo sent during the reload against the
   slowest sent before it.
4. /stats of an admin on A after all that: the chart's answer time.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from common import LFW, ROOT, load_average, table

sys.path.insert(0, str(ROOT))
from lookalike import assets_layout

MB = 1024 * 1024
MAX_WAIT_SECONDS = 30.0
"""The bot's default: no photo it admits may be answered later (issue #31)."""


# ------------------------------------------------------------------ the galleries (in a child process)


def make_gallery(size: int, seed: int, out: Path) -> dict:
    """Make the assets directory ``out`` of ``size`` synthetic celebrities; what it cost."""
    from lfw_embeddings import load

    from lookalike.builder import build
    from lookalike.builder.directory_swap import staged_directory
    from lookalike.catalog import read_catalog
    from lookalike.engine.ranking import within_spread

    started = time.perf_counter()
    cached = load()
    real, scores, names = cached["vectors"], cached["gender_scores"], cached["names"]
    catalog = read_catalog(LFW)
    labels = np.array([catalog.get(str(name), {}).get("gender") for name in names], dtype=object)
    _, owners = np.unique(names, return_inverse=True)
    spread = within_spread(real, owners)
    rng = np.random.default_rng(seed)
    entries: list = []
    people = {label: np.unique(names[labels == label]).size for label in ("female", "male")}
    for label, count in people.items():
        share = round(size * count / sum(people.values())) if label == "female" else size - len(entries)
        entries += synthetic_entries(label, share, real[labels == label], scores[labels == label], spread, rng)
    made = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    parts = timed_parts()
    wall, cpu = time.perf_counter(), time.process_time()
    index = build.make_index(entries)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    saved = time.perf_counter()
    with staged_directory(out) as staging:
        index.save(staging)
        link_thumbnails(staging / assets_layout.THUMBS_DIR, len(entries))
    return {
        "celebrities": len(entries),
        "photos": sum(len(entry.embeddings) for entry in entries),
        "synthesis_s": made,
        "make_index_s": wall,
        "make_index_cpu_s": cpu,
        "parts_s": parts,
        "parts_peak_mb": parts_peaks[0],
        "save_s": time.perf_counter() - saved,
        "peak_rss_before_mb": rss_before / MB,
        "peak_rss_mb": rss_after / MB,
        "index_mb": sum(f.stat().st_size for f in out.iterdir() if f.is_file()) / MB,
    }


def synthetic_entries(label: str, count: int, real, real_scores, spread: float, rng) -> list:
    """``count`` Entry values of gender ``label`` as the builder's ``select`` makes them."""
    from synth import synthesise

    from lookalike.builder.build import Entry
    from lookalike.builder.celebrity_photos import Celebrity

    centres = synthesise(real, count, rng)
    photos = rng.integers(1, 4, size=count)
    scatter = math.sqrt(spread / centres.shape[1])
    entries = []
    for i, (centre, n) in enumerate(zip(centres, photos.tolist())):
        embeddings = (centre + rng.normal(scale=scatter, size=(n, centre.size))).astype(np.float32)
        key = f"{label}_{i:07d}"
        record = {"name": f"Synthetic {label} {i}", "gender": label, "link": f"https://example.org/{key}"}
        celebrity = Celebrity(key, record["name"], [], record)  # type: ignore[arg-type]
        entries.append(
            Entry(
                celebrity=celebrity,
                vector=embeddings.mean(axis=0),
                embeddings=embeddings,
                gender_scores=rng.choice(real_scores, size=n).astype(np.float32),
                best=Path(key),
                best_sha256="",
                best_box=(0, 0, 1, 1),
            )
        )
    return entries


parts_peaks: list[dict[str, float]] = [{}]


def timed_parts() -> dict[str, float]:
    """Time make_index's parts by wrapping the functions it calls; the dict fills as they run
    (and ``parts_peaks[0]`` with the peak RSS once each is done)."""
    from lookalike.builder import build
    from lookalike.engine import index as index_module
    from lookalike.engine.index import CelebrityIndex

    parts: dict[str, float] = {}
    peaks: dict[str, float] = {}  # the process's peak RSS (MB) once each part is done
    parts_peaks[0] = peaks

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - started
                peaks[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        return wrapper

    build.fit_ranking = timed("ranking reach", build.fit_ranking)
    build.gender.fit_gender = timed("gender probe", build.gender.fit_gender)
    index_module.GraphParts.build = timed("graphs", index_module.GraphParts.build)
    index_module.fit_calibration = timed("calibration", index_module.fit_calibration)
    CelebrityIndex.fit_identity = timed("'this is X' rule", CelebrityIndex.fit_identity)
    return parts


def link_thumbnails(folder: Path, count: int) -> None:
    """thumbs/0.jpg ... as symlinks to one real thumbnail, made the builder's way from an LFW photo."""
    from lookalike.builder.build import thumbnail_jpeg
    from lookalike.engine import face_workers
    from lookalike.engine.face_model import FaceModel

    folder.mkdir()
    data = (LFW / "Aaron_Eckhart" / "Aaron_Eckhart_0001.jpg").read_bytes()
    [face] = face_workers.faces_in_photo(FaceModel(), data).faces
    target = folder.parent / "thumbnail.jpg"
    target.write_bytes(thumbnail_jpeg(data, face.box, 160))
    for i in range(count):
        (folder / f"{i}.jpg").symlink_to("../thumbnail.jpg")


def gallery(size: int, seed: int, out: Path) -> dict:
    """``out`` made by a child process (reused if there, in this version's format), and what making it cost."""
    report = out.with_suffix(".json")
    if not in_this_format(out) or not report.exists():
        command = [sys.executable, __file__, "--make", str(size), str(seed), str(out)]
        subprocess.run(command, check=True)
    return json.loads(report.read_text())


def in_this_format(assets_dir: Path) -> bool:
    """Whether ``assets_dir`` holds an index of the format this version reads."""
    try:
        meta = json.loads((assets_dir / assets_layout.META_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format_version") == assets_layout.FORMAT_VERSION


def copy_gallery(source: Path, target: Path) -> None:
    """B: A's files copied into a directory of their own (new inodes, nothing shared with A's
    pages): what a rebuild of the same gallery gives the bot to reload, at a fraction of the
    time a second million-celebrity build takes on 2 cores."""
    staging = target.with_name(target.name + ".new")
    subprocess.run(["rm", "-rf", str(staging)], check=True)
    subprocess.run(["cp", "-a", str(source), str(staging)], check=True)
    staging.rename(target)


# ------------------------------------------------------------------ the bot


class Bot:
    """``python bot.py`` on ``assets`` against ``api``, with its /readyz port."""

    def __init__(self, api, assets: Path, folder: Path, admin: int):
        from tests.support.bot_harness import BotProcess

        self.port = free_port()
        env = {
            **api.bot_environment(),
            "ASSETS_DIR": str(assets),
            "WORKERS": "2",
            "METRICS_PORT": str(self.port),
            "ADMIN_IDS": str(admin),
            "INDEX_POLL_SECONDS": "0.5",
            "USER_PER_MINUTE": "1000",
            "MAX_WAIT_SECONDS": str(MAX_WAIT_SECONDS),
            "ANSWERED_FILE": str(folder / "answered.json"),
        }
        self.started = time.perf_counter()
        self.process = BotProcess(env, folder / "bot.log")
        self.ready_s = self._wait_ready()

    def _wait_ready(self, timeout: float = 600.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.process.process.poll() is not None:
                raise SystemExit(f"the bot stopped:\n{self.process.log()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"the bot was not ready within {timeout} s:\n{self.process.log()[-3000:]}")

    def status(self, field: str) -> float:
        """A VmRSS/VmHWM-like field of the main process's /proc status, in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise KeyError(field)

    def reset_peak(self) -> None:
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def stop(self) -> None:
        self.process.stop()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_photos(count: int) -> list[bytes]:
    """``count`` LFW photos, one per person, in a fixed order."""
    people = sorted(p for p in LFW.iterdir() if p.is_dir())
    step = max(1, len(people) // count)
    return [sorted(p.glob("*.jpg"))[0].read_bytes() for p in people[::step][:count]]


class Sender:
    """Photos sent as updates from new users; answer times from the fake API's records."""

    def __init__(self, api, first_user: int):
        self.api = api
        self.sent: dict[int, float] = {}  # user -> monotonic time queued
        self.updates: dict[int, int] = {}  # update id -> user
        self._users = iter(range(first_user, first_user + 10**6))

    def send(self, photo: bytes) -> int:
        user = next(self._users)
        self.sent[user] = time.monotonic()
        update = self.api.send_photo_update(user, sizes=photo)
        self.updates[update["update_id"]] = user
        return user

    def fetched(self) -> dict[int, float]:
        """Each user's time from sending to the getUpdates that first handed the photo to the bot
        (when the bot asked: the fake records a call as it arrives)."""
        first: dict[int, float] = {}
        for call in self.api.calls("getUpdates"):
            for update in call.result if call.ok and isinstance(call.result, list) else []:
                user = self.updates.get(update["update_id"])
                if user is not None and user not in first:
                    first[user] = max(0.0, call.timestamp - self.sent[user])
        return first

    def answered(self, user: int, timeout: float = 60.0) -> None:
        self.api.wait_for(lambda c: c.ok and c.is_message and c.chat_id == user, timeout=timeout)

    def answers(self) -> dict[int, list[float]]:
        """Each user's answers' arrival times."""
        times: dict[int, list[float]] = {user: [] for user in self.sent}
        for call in self.api.replies():
            if call.chat_id in times:
                times[call.chat_id].append(call.timestamp)
        return times

    def told_busy(self) -> set[int]:
        """The users whose first answer was "busy" (a text, where a look-alike is a photo)."""
        first: dict[int, str] = {}
        for call in self.api.replies():
            if call.chat_id in self.sent:
                first.setdefault(call.chat_id, call.method)
        return {user for user, method in first.items() if method == "sendMessage"}

    def waited(self) -> dict[int, float]:
        """Each answered user's time from sending to the first answer."""
        return {user: times[0] - self.sent[user] for user, times in self.answers().items() if times}

    def latencies(self) -> np.ndarray:
        return np.array(list(self.waited().values()))


def answer_times(api, bot: Bot, photos: list[bytes], first_user: int) -> np.ndarray:
    """Each photo sent once the previous one is answered: answer times without queueing."""
    sender = Sender(api, first_user)
    sender.answered(sender.send(photos[0]), timeout=120)  # the first answer warms up the workers
    sender.sent.clear()
    for photo in photos:
        sender.answered(sender.send(photo))
    return sender.latencies()


def hot_reload(api, bot: Bot, photos: list[bytes], assets: Path, second: Path, interval: float) -> dict:
    """Photos every ``interval`` s while the symlink ``assets`` is turned to ``second``:
    gaps between answers, peak memory, every photo answered exactly once."""
    sender = Sender(api, 500_000)
    stop = threading.Event()

    def keep_sending() -> None:
        while not stop.is_set():
            sender.send(photos[len(sender.sent) % len(photos)])
            time.sleep(interval)

    rss_before = bot.status("VmRSS")
    thread = threading.Thread(target=keep_sending, daemon=True)
    thread.start()
    time.sleep(10)  # answers flowing before the swap
    log_mark = len(bot.process.log())
    bot.reset_peak()
    swapped = time.monotonic()
    point(assets, second)
    bot.process.wait_for_log(r"index reloaded from", timeout=600, after=log_mark)
    reloaded = time.monotonic()
    peak = bot.status("VmHWM")
    time.sleep(10)  # answers flowing after it
    stop.set()
    thread.join()
    for user in list(sender.sent):
        sender.answered(user)
    time.sleep(2)  # any second answer would have arrived by now
    answers = sender.answers()
    arrivals = np.sort([t for times in answers.values() for t in times])
    gaps_before = np.diff(arrivals[arrivals < swapped])
    during = arrivals[(arrivals >= swapped - interval) & (arrivals <= reloaded + interval)]
    gaps_during = np.diff(during) if len(during) > 1 else np.array([reloaded - swapped])
    latencies = sender.latencies()
    waited = sender.waited()
    slowest_before = max((s for user, s in waited.items() if sender.sent[user] < swapped), default=float("nan"))
    slowest_during = max(
        (s for user, s in waited.items() if swapped <= sender.sent[user] <= reloaded), default=float("nan")
    )
    busy = sender.told_busy()
    admitted = {user: s for user, s in waited.items() if user not in busy}
    fetched = sender.fetched()
    in_bot = {user: s - fetched[user] for user, s in admitted.items() if user in fetched}
    return {
        "photos": len(sender.sent),
        "answered once": sum(len(times) == 1 for times in answers.values()),
        "reload_s": reloaded - swapped,
        "rss_before_mb": rss_before,
        "peak_mb": peak,
        "rss_after_mb": bot.status("VmRSS"),
        "gap_before_s": float(gaps_before.max()) if len(gaps_before) else float("nan"),
        "gap_during_s": float(gaps_during.max()),
        "answers during": len(during),
        "slowest_before_s": slowest_before,
        "slowest_during_s": slowest_during,
        "busy": len(busy),
        "slowest_busy_s": max((waited[user] for user in busy if user in waited), default=float("nan")),
        "slowest_admitted_s": max(admitted.values(), default=float("nan")),
        "admitted_over_max_wait": sum(1 for s in admitted.values() if s > MAX_WAIT_SECONDS),
        "slowest_fetch_s": max(fetched.values(), default=float("nan")),
        "slowest_in_bot_s": max(in_bot.values(), default=float("nan")),
        "in_bot_over_max_wait": sum(1 for s in in_bot.values() if s > MAX_WAIT_SECONDS),
        "latency_p50_s": float(np.median(latencies)),
        "latency_p99_s": float(np.quantile(latencies, 0.99)),
    }


def point(link: Path, target: Path) -> None:
    """Turn the symlink ``link`` to ``target`` in one rename, as a deployment swaps releases."""
    new = link.with_name(link.name + ".new")
    new.symlink_to(target)
    os.replace(new, link)


def stats_time(api, admin: int) -> float:
    started = time.monotonic()
    api.send_text_update(admin, "/stats")
    [call] = api.wait_for(lambda c: c.ok and c.is_message and c.chat_id == admin, timeout=120)
    return call.timestamp - started


# ------------------------------------------------------------------ the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--celebrities", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=3000)
    parser.add_argument("--photos", type=int, default=200, help="photos answered one after another, per gallery")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between photos during the reload")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".cache" / "million")
    parser.add_argument("--make", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
        size, seed, out = int(args.make[0]), int(args.make[1]), Path(args.make[2])
        report = make_gallery(size, seed, out)
        out.with_suffix(".json").write_text(json.dumps(report))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    made_dirs = {
        "small": args.work / f"small-{args.small}",
        "A": args.work / f"a-{args.celebrities}",
        "B": args.work / f"b-{args.celebrities}",
    }
    made = {
        "small": gallery(args.small, 1, made_dirs["small"]),
        "A": gallery(args.celebrities, 2, made_dirs["A"]),
    }
    if not in_this_format(made_dirs["B"]):
        copy_gallery(made_dirs["A"], made_dirs["B"])
    print_galleries(made)
    photos = test_photos(args.photos)
    from tests.support.bot_api import FakeBotApi

    admin = 42
    runs = {}
    folder = args.work / "runs"  # the bots' logs, kept for a look after the run
    shutil.rmtree(folder, ignore_errors=True)
    with FakeBotApi() as api:
        for name, gallery_dir in (("small", made_dirs["small"]), ("A", made_dirs["A"])):
            run_folder = folder / name
            run_folder.mkdir(parents=True)
            assets = run_folder / "assets"  # a symlink to the gallery, as ASSETS_DIR
            point(assets, gallery_dir)
            bot = Bot(api, assets, run_folder, admin)
            try:
                run = {"ready_s": bot.ready_s, "rss_mb": bot.status("VmRSS")}
                run["latencies"] = answer_times(api, bot, photos, 100_000 * (len(runs) + 1))
                if name == "A":
                    run["reload"] = hot_reload(api, bot, photos, assets, made_dirs["B"], args.interval)
                    run["stats_s"] = stats_time(api, admin)
                runs[name] = run
            finally:
                bot.stop()
    print_bot(runs, args)


def print_galleries(made: dict) -> None:
    rows = []
    for name, m in made.items():
        peaks = m.get("parts_peak_mb", {})
        parts = ", ".join(
            f"{part} {seconds:.0f}" + (f" (peak {peaks[part] / 1024:.1f} GB)" if part in peaks else "")
            for part, seconds in m["parts_s"].items()
        )
        rows.append(
            [
                name,
                f"{m['celebrities']:,}",
                f"{m['photos']:,}",
                f"{m['make_index_s']:.0f}",
                f"{m['make_index_cpu_s']:.0f}",
                parts,
                f"{m['peak_rss_before_mb']:.0f} -> {m['peak_rss_mb']:.0f}",
                f"{m['save_s']:.0f}",
                f"{m['index_mb']:.0f}",
            ]
        )
    print(
        table(
            [
                "gallery",
                "celebrities",
                "photos",
                "make_index s",
                "CPU s",
                "parts s (the process's peak RSS once each is done)",
                "peak RSS MB (entries -> after)",
                "save s",
                "files MB",
            ],
            rows,
        )
    )


def print_bot(runs: dict, args: argparse.Namespace) -> None:
    rows = []
    for name, run in runs.items():
        latencies = run["latencies"]
        rows.append(
            [
                name,
                f"{run['ready_s']:.1f}",
                f"{run['rss_mb']:.0f}",
                f"{1000 * np.median(latencies):.0f}",
                f"{1000 * np.quantile(latencies, 0.99):.0f}",
            ]
        )
    print()
    print(table(["gallery", "ready s", "RSS MB", "answer p50 ms", "answer p99 ms"], rows))
    small, big = runs["small"], runs["A"]
    ratio = np.quantile(big["latencies"], 0.99) / np.quantile(small["latencies"], 0.99)
    print(f"p99 {args.celebrities:,} / {args.small:,}: {ratio:.2f}x ({args.photos} photos one after another)")
    reload = big["reload"]
    index_mb = big["rss_mb"] - small["rss_mb"]
    print(
        f"\nhot reload A -> B while photos came every {args.interval} s: {reload['photos']} photos, "
        f"{reload['answered once']} answered exactly once; reloaded in {reload['reload_s']:.1f} s; "
        f"RSS {reload['rss_before_mb']:.0f} MB before, peak {reload['peak_mb']:.0f} MB, after {reload['rss_after_mb']:.0f} MB "
        f"(the index ~{index_mb:.0f} MB: peak over the small gallery's bot "
        f"{(reload['peak_mb'] - small['rss_mb']) / index_mb:.2f}x the index); longest gap between answers "
        f"{reload['gap_during_s']:.2f} s during the reload ({reload['answers during']} answers) against "
        f"{reload['gap_before_s']:.2f} s before; the slowest answer to a photo sent during the reload "
        f"{reload['slowest_during_s']:.2f} s against {reload['slowest_before_s']:.2f} s before; answer p50/p99 over the whole run "
        f"{1000 * reload['latency_p50_s']:.0f}/{1000 * reload['latency_p99_s']:.0f} ms; told busy {reload['busy']} "
        f"(the slowest busy after {reload['slowest_busy_s']:.2f} s); the slowest look-alike {reload['slowest_admitted_s']:.2f} s, "
        f"{reload['admitted_over_max_wait']} later than MAX_WAIT_SECONDS ({MAX_WAIT_SECONDS:g} s); from the getUpdates "
        f"that handed a photo over (the bot's own time): the slowest look-alike {reload['slowest_in_bot_s']:.2f} s, "
        f"{reload['in_bot_over_max_wait']} later than MAX_WAIT_SECONDS; the longest a photo waited to be fetched "
        f"{reload['slowest_fetch_s']:.2f} s"
    )
    print(f"/stats on A: answered in {big['stats_s']:.2f} s")
    print(load_average())


if __name__ == "__main__":
    main()
