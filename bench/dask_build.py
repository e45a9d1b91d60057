"""Photos/s of the build's analysis: the local process pool against a Dask LocalCluster of
the same size (the overhead), and a LocalCluster of 1 against 2 workers (the scaling).

    python bench/dask_build.py [--photos 60] [--jitters 1] [--rounds 2]

``lookalike.builder.photo_analysis.analyse_photos`` on the first --photos LFW photos, each run with a
fresh photo cache (so every photo is analysed), the runs interleaved round by round because
the machine is shared. A LocalCluster's time includes starting it (its workers load dlib
and the face models), as a build's does; the pool's includes starting its processes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import LFW, load_average, require, table

from lookalike.builder import photo_analysis
from lookalike.builder.photo_cache import PhotoCache, settings_key

SETUPS = {
    "local pool, 2 processes": (2, None),
    "LocalCluster, 2 workers": (2, "local"),
    "LocalCluster, 1 worker": (1, "local"),
    "local pool, 1 process": (1, None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--jitters", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--setups", default=";".join(SETUPS), help="which, separated by ';': " + "; ".join(SETUPS))
    args = parser.parse_args()
    require(LFW)
    paths = sorted(LFW.glob("*/*.jpg"))[: args.photos]
    setups = {name: SETUPS[name] for name in args.setups.split(";")}
    seconds: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(args.rounds):
        for name, (workers, scheduler) in setups.items():
            with (
                tempfile.TemporaryDirectory() as folder,
                PhotoCache(Path(folder) / "cache.sqlite", settings_key(args.jitters)[0]) as cache,
            ):
                started = time.perf_counter()
                analysed = photo_analysis.analyse_photos(paths, cache, workers, args.jitters, False, scheduler)
                seconds[name].append(time.perf_counter() - started)
                assert sum(not a.cached for a in analysed.values()) == len(paths)
    best = {name: min(times) for name, times in seconds.items()}
    rows = [[name, f"{len(paths) / best[name]:.2f}", f"{best[name]:.1f}"] for name in setups]
    print(table(["analysis", "photos/s (best round)", "seconds"], rows))
    ratios = [
        ("LocalCluster / pool (2 each)", "local pool, 2 processes", "LocalCluster, 2 workers"),
        ("LocalCluster 2 / 1 workers", "LocalCluster, 1 worker", "LocalCluster, 2 workers"),
        ("pool 2 / 1 processes", "local pool, 1 process", "local pool, 2 processes"),
    ]
    said = [f"{label}: {best[slow] / best[fast]:.2f}x" for label, slow, fast in ratios if slow in best and fast in best]
    print(
        f"\n{'; '.join(said)} (photos/s ratios). {len(paths)} LFW photos, {args.jitters} jitter(s), "
        f"best of {args.rounds} interleaved rounds; {load_average()}"
    )


if __name__ == "__main__":
    main()
