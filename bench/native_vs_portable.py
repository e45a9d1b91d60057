"""dlib and nmslib built for x86-64-v3 (``install.sh --portable``, the container image) against the
build for this machine's own CPU (``install.sh``), in one run, alternating photo by photo.

    python bench/native_vs_portable.py --portable VENV [--native .venv] [--rounds 3] [--core 1]
        [--gallery 100000] [--queries 2000]

Two virtualenvs hold the two builds of the same locked versions (one process cannot load two
builds of one module): a child process in each, both pinned to the same core, takes the same
inputs in turn, the first-runner alternating, so the machine's other load hits both alike.
Each child reports the thread CPU time of its work (what the build changes; unlike wall time
it leaves out waiting for a core) and its wall time.

- The face pipeline: ``faces_in_photo`` (decode, dlib's detection, landmarks, embedding: what a
  bot worker does with a photo) on the sample portraits at Telegram's 1280 and 800 px sizes.
- The index: nmslib's HNSW graph built single-threaded over ``--gallery`` vectors (the LFW
  vectors topped up by synth.py, the same in both), then ``--queries`` single queries at the
  bot's efSearch (held-out synthetic vectors, one at a time as the bot asks).

The ratio is portable / native: above 1.00x the portable build is slower.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import common
import numpy as np
from common import LFW, SAMPLES, fmt_ratio, median, ms, p99, table

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the child: one build's side


def child(core: int, gallery_size: int, queries: int, seed: int) -> None:
    """Answer the parent's JSON lines on stdin: ("photo", i), ("build",), ("query", start, count)."""
    common.pin(core)
    from synth import synthesise

    from lookalike.engine.face_model import FaceModel
    from lookalike.engine.face_workers import faces_in_photo
    from lookalike.engine.hnsw import DEFAULT_EF_SEARCH, HnswParameters, build_graph, nearest

    inputs = [data for _, data in common.selfie_inputs()]
    model = FaceModel()
    vectors, held_out = gallery(gallery_size, queries, seed, synthesise)
    graph = None
    reply(
        {
            "inputs": len(inputs),
            "target": (Path(sys.prefix) / "lookalike-cpu-target").read_text().strip(),
        }
    )
    for line in sys.stdin:
        op, *args = json.loads(line)
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        if op == "photo":
            found = len(faces_in_photo(model, inputs[args[0]]).faces)
        elif op == "build":
            graph = build_graph(vectors, HnswParameters(), num_threads=1)
            found = len(vectors)
        else:
            start, count = args
            for row in range(start, start + count):
                nearest(graph, held_out[row : row + 1], 3, DEFAULT_EF_SEARCH, num_threads=1)
            found = count
        reply({"cpu": time.thread_time() - cpu0, "wall": time.perf_counter() - wall0, "found": found})


def gallery(size: int, queries: int, seed: int, synthesise) -> tuple[np.ndarray, np.ndarray]:
    """The LFW vectors topped up to ``size`` by synth.py, and ``queries`` more made alike, held out."""
    from lfw_embeddings import load

    real = load()["vectors"].astype(np.float32)
    made = synthesise(real, max(size - len(real), 0) + queries, np.random.default_rng(seed)).astype(np.float32)
    vectors = np.ascontiguousarray(np.concatenate([real, made[queries:]])[:size])
    return vectors, np.ascontiguousarray(made[:queries])


def reply(message: dict) -> None:
    print(json.dumps(message), flush=True)


# ------------------------------------------------------------------ the parent


class Side:
    """One build's child process."""

    def __init__(self, name: str, venv: Path, args: argparse.Namespace):
        self.name = name
        command = [str(venv / "bin" / "python"), __file__, "--child", "--core", str(args.core)]
        command += ["--gallery", str(args.gallery), "--queries", str(args.queries), "--seed", str(args.seed)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT / "bench"
        )
        self.hello = self.read()

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"the {self.name} child stopped (exit {self.process.wait()})")
        return json.loads(line)

    def ask(self, *op) -> dict:
        self.process.stdin.write(json.dumps(op) + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def interleaved(sides: list[Side], ops: list[tuple]) -> dict[str, list[dict]]:
    """Each op asked of both sides, the first-runner alternating op by op."""
    results: dict[str, list[dict]] = {side.name: [] for side in sides}
    for number, op in enumerate(ops):
        for side in sides if number % 2 == 0 else sides[::-1]:
            results[side.name].append(side.ask(*op))
    for number in range(len(ops)):
        found = {side.name: results[side.name][number]["found"] for side in sides}
        if len(set(found.values())) != 1:
            sys.exit(f"the builds disagree on {ops[number]}: {found}")
    return results


def rows(label: str, results: dict[str, list[dict]], per: int = 1) -> list[list]:
    native, portable = results["native"], results["portable"]
    out = []
    for key in ("cpu", "wall"):
        n = [r[key] / per for r in native]
        p = [r[key] / per for r in portable]
        paired = [b / a for a, b in zip(n, p) if a > 0]
        out.append(
            [
                f"{label}, {'CPU' if key == 'cpu' else 'wall'}",
                len(n),
                ms(median(n)),
                ms(median(p)),
                fmt_ratio(median(p) / median(n)),
                ms(p99(n)),
                ms(p99(p)),
                fmt_ratio(median(paired)),
            ]
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--native", type=Path, default=ROOT / ".venv", help="virtualenv of the native build")
    parser.add_argument("--portable", type=Path, help="virtualenv of the portable build (install.sh --portable)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the selfie-sized photos (default 3)")
    parser.add_argument("--core", type=int, default=1)
    parser.add_argument("--gallery", type=int, default=100_000, help="vectors in the graph (default 100,000)")
    parser.add_argument("--queries", type=int, default=2000, help="single queries (default 2,000)")
    parser.add_argument("--builds", type=int, default=2, help="graph builds per side (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.core, args.gallery, args.queries, args.seed)
        return 0
    if args.portable is None:
        parser.error("--portable VENV is required (make one with VENV=DIR bash install.sh --portable)")
    common.require(SAMPLES, LFW)
    sides = [Side("native", args.native, args), Side("portable", args.portable, args)]
    targets = {side.name: side.hello["target"] for side in sides}
    if targets != {"native": "native", "portable": "x86-64-v3"}:
        sys.exit(f"the virtualenvs' builds are {targets}: expected native and x86-64-v3")
    inputs = sides[0].hello["inputs"]
    common.banner(
        "dlib and nmslib: the portable build (x86-64-v3) against the native one",
        [
            f"native: {args.native}; portable: {args.portable}; both children pinned to core {args.core}",
            f"photos: {inputs} selfie-sized x {args.rounds} rounds; gallery {args.gallery:,} vectors, "
            f"{args.queries:,} single queries; first-runner alternating",
        ],
    )
    photos = interleaved(sides, [("photo", i) for _ in range(args.rounds) for i in range(inputs)])
    builds = interleaved(sides, [("build",)] * args.builds)
    batch = 100
    queries = interleaved(sides, [("query", start, batch) for start in range(0, args.queries, batch)])
    for side in sides:
        side.close()
    headers = [
        "what",
        "runs",
        "native median",
        "portable median",
        "ratio",
        "native p99",
        "portable p99",
        "paired ratio",
    ]
    print(
        table(
            headers,
            [
                *rows("a photo (faces_in_photo)", photos),
                *rows(f"graph build, {args.gallery:,} vectors", builds),
                *rows("a query (k=3, efSearch 192)", queries, per=batch),
            ],
        )
    )
    print(f"\nload average at the end: {common.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
