"""Helpers shared by the benchmark scripts: paths, data checks, core pinning, timing,
summaries (median, p99), ratio formatting and plain-text tables, the sample photos and
their Telegram-sized copies, and the seed's pipeline that the figures are compared against.

Speed figures in this folder are ratios against a baseline timed in the same run on the
same inputs, interleaved with the candidate, because the machine is shared: absolute
times drift with whatever else runs, ratios much less.
"""

from __future__ import annotations

import io
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core per process, as in the bot's workers

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

DATA = Path(os.environ.get("LOOKALIKE_TEST_DATA") or ROOT.parent / "shared" / "data")
"""The test data (tests/support/data.py): LOOKALIKE_TEST_DATA, else ../shared/data."""
LFW = DATA / "lfw"
SAMPLES = DATA / "samples"
CACHE = ROOT / "bench" / ".cache"

TELEGRAM_SIDES = (1280, 800)
"""Longest sides of the photo sizes Telegram makes from an upload (the bot downloads 800)."""

GROUP_SAMPLES = {
    "face_recognition/two_people.jpg",
    "face_recognition/knn_examples/test/obama_and_biden.jpg",
    "face_recognition/knn_examples/test/kit_with_rose.jpg",
}
"""Samples with two or more people; every other face_recognition/ photo is a portrait."""

PORTRAIT_EXTRA = {"dlib_faces/Tom_Cruise_avp_2014_4.jpg"}
"""The one portrait among dlib's scene photos."""


# ---------------------------------------------------------------- data


def require(*paths: Path) -> None:
    """Exit with status 0 and a clear message when benchmark data is missing."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(
            f"SKIPPED: benchmark data not found: {', '.join(missing)} (python -m tests.support.data fetch DIR, "
            "then LOOKALIKE_TEST_DATA=DIR; else ../shared/data beside the project)"
        )
        sys.exit(0)


def sample_photos() -> list[Path]:
    """Every image under samples/, sorted."""
    return sorted(p for p in SAMPLES.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"} and p.is_file())


def is_portrait(path: Path) -> bool:
    relative = path.relative_to(SAMPLES).as_posix()
    if relative in PORTRAIT_EXTRA:
        return True
    return relative.startswith("face_recognition/") and relative not in GROUP_SAMPLES


def telegram_jpeg(path: Path, side: int, quality: int = 87) -> bytes | None:
    """The photo as Telegram would store it at ``side`` px (longest side), or None if it is smaller.

    Telegram never enlarges: a photo whose longest side is already <= ``side`` has no such copy.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        if max(image.size) <= side:
            return None
        scale = side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        return buffer.getvalue()


def selfie_inputs(sides: tuple[int, ...] = TELEGRAM_SIDES) -> list[tuple[str, bytes]]:
    """(label, JPEG bytes): each sample portrait resized to each of Telegram's ``sides``."""
    inputs = []
    for path in sample_photos():
        if not is_portrait(path):
            continue
        for side in sides:
            data = telegram_jpeg(path, side)
            if data is not None:
                inputs.append((f"{path.relative_to(SAMPLES).as_posix()}@{side}", data))
    return inputs


def lfw_pairs(path: Path = LFW / "pairs.txt") -> list[tuple[str, int, str, int, int]]:
    """(name1, n1, name2, n2, fold) per line; fold 0..9 from LFW's order of ten sets.

    Each set is a block of same-person lines followed by a block of different-person
    lines, so a same-person line after a different-person one starts the next set.
    """
    pairs = []
    fold, previous_same = 0, True
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            name, i, j = parts
            if not previous_same:
                fold += 1
            pairs.append((name, int(i), name, int(j), fold))
            previous_same = True
        elif len(parts) == 4:
            pairs.append((parts[0], int(parts[1]), parts[2], int(parts[3]), fold))
            previous_same = False
    return pairs


def lfw_path(name: str, number: int) -> Path:
    return LFW / name / f"{name}_{number:04d}.jpg"


# ---------------------------------------------------------------- pinning and timing


def pin(core: int = 1) -> str:
    """Pin this process to ``core`` (or the last core it may use); returns a note for the report."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return "not pinned (no sched_setaffinity on this platform)"
    chosen = core if core in allowed else allowed[-1]
    os.sched_setaffinity(0, {chosen})
    return f"pinned to core {chosen} of {len(allowed)}"


def now() -> float:
    return time.perf_counter()


def load_average() -> str:
    try:
        return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "load average unknown"


def percentile(values, q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; nan for no values."""
    values = np.asarray(values, dtype=np.float64)
    return float(np.percentile(values, q)) if values.size else math.nan


def median(values) -> float:
    return percentile(values, 50)


def p99(values) -> float:
    return percentile(values, 99)


def ratio(baseline: float, ours: float) -> float:
    return baseline / ours if ours > 0 else math.inf


def fmt_ratio(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def ms(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    value = seconds * 1000
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """A Markdown table (readable as plain text too); ``align`` is one 'l' or 'r' per column."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(row):
        return "| " + " | ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":" if a == "r" else "-" * (w + 2)) for w, a in zip(widths, align)) + "|"
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])


def banner(title: str, notes: list[str]) -> None:
    print(f"# {title}")
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, {load_average()}")
    for note in notes:
        print(note)
    print()


# ---------------------------------------------------------------- the seed's pipeline


class SeedPipeline:
    """The seed's way, the baseline of every comparison: the image decoded in full, dlib's
    HOG detector with one upsampling on the full RGB image, the 5-point shape predictor
    and the ResNet descriptor per face, and a linear numpy scan over a float64 gallery."""

    name = "seed"

    def __init__(self):
        import dlib

        from lookalike.engine.face_model import model_paths

        paths = model_paths()
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(paths["predictor"])
        self.recognizer = dlib.face_recognition_model_v1(paths["recognizer"])

    @staticmethod
    def decode(data: bytes) -> np.ndarray:
        from PIL import Image

        return np.array(Image.open(io.BytesIO(data)).convert("RGB"))

    def detect(self, image: np.ndarray) -> list:
        return list(self.detector(image, 1))

    def landmarks(self, image: np.ndarray, rects: list) -> list:
        return [self.predictor(image, rect) for rect in rects]

    def embed(self, image: np.ndarray, shapes: list) -> list[np.ndarray]:
        return [np.array(self.recognizer.compute_face_descriptor(image, shape)) for shape in shapes]

    @staticmethod
    def query(vectors: np.ndarray, embeddings: list[np.ndarray], k: int = 3) -> list[np.ndarray]:
        """Nearest ``k`` rows per face: every distance, then a full sort (as the seed did)."""
        return [np.argsort(np.linalg.norm(vectors - e, axis=1))[:k] for e in embeddings]

    def faces(self, data: bytes) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
        """(box, embedding) per face, no timing: for accuracy runs."""
        image = self.decode(data)
        rects = self.detect(image)
        shapes = self.landmarks(image, rects)
        return [((r.left(), r.top(), r.right(), r.bottom()), e) for r, e in zip(rects, self.embed(image, shapes))]


def central(boxes: list[tuple[int, int, int, int]], width: int, height: int) -> int:
    """Index of the box whose centre is nearest the image centre (LFW centres its subject)."""
    offsets = [((l + r) / 2 - width / 2) ** 2 + ((t + b) / 2 - height / 2) ** 2 for l, t, r, b in boxes]
    return int(np.argmin(offsets))


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class ChildrenCPU:
    """CPU seconds used by this process's descendants (worker pools, forkservers), polled from /proc.

    ``with ChildrenCPU() as cpu: ...`` then ``cpu.seconds``. A thread reads every
    descendant's utime + stime every ``interval`` seconds and keeps each one's last
    value, so a worker's CPU is counted even after it exits (less at most one interval).
    """

    def __init__(self, interval: float = 0.1):
        import threading

        self.interval = interval
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._ticks = os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> ChildrenCPU:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / self._ticks)
        ours = {os.getpid()}
        changed = True
        while changed:
            changed = False
            for pid, (parent, _) in stats.items():
                if parent in ours and pid not in ours:
                    ours.add(pid)
                    changed = True
        for pid in ours - {os.getpid()}:
            self.seen[pid] = max(self.seen.get(pid, 0.0), stats[pid][1])
