"""Photos per second through the bot's worker pool (face_pool.FacePool) with 1 and 2 workers.

    python bench/pool_throughput.py [--rounds 6] [--workers 1,2]

Each round sends every input photo to a pool at once (``FacePool.analyse`` per photo,
gathered, as the bot's handlers do when many photos arrive) and times the batch. The
pools are started once, up front, and rounds alternate which pool goes first, so the
machine's other load hits both alike; the scaling ratio is taken per round (the
2-worker rate over the 1-worker rate of the same round) and its median reported.

What a job does is the bot's: analysis.analyse (decode, FaceModel.faces, a face crop
per face and, for 2+ faces, the numbered group picture). The index look-up and the
Telegram round trips happen in the bot's main process and are not in these figures.

Inputs: every sample portrait as the bot downloads it (telegram_io.pick_photo_size: the
800 px size Telegram makes, or the original when the photo is smaller).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from pathlib import Path

import common
from common import SAMPLES, fmt_ratio, median, now, table

TELEGRAM_MESSAGES_PER_SECOND = 30
TICKS = os.sysconf("SC_CLK_TCK")


def bot_inputs() -> list[bytes]:
    inputs = []
    for path in common.sample_photos():
        if common.is_portrait(path):
            inputs.append(common.telegram_jpeg(path, 800) or path.read_bytes())
    return inputs


def worker_cpu_seconds(pool) -> float:
    """CPU seconds (user + system) used so far by the pool's worker processes, from /proc."""
    executor = pool._executor
    total = 0.0
    for process in list((executor._processes or {}).values()):
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def _prepare_worker_in_own_session(*args) -> None:
    """face_pool's preparation of a worker, run in a session of its own (see --own-sessions)."""
    from lookalike.answering import face_pool

    os.setsid()
    face_pool._prepare_worker(*args)


def pool_class():
    """The bot's pool, or None with the reason when it cannot be imported."""
    try:
        from lookalike.answering.face_pool import FacePool
    except ImportError as exc:
        return None, f"face_pool.FacePool unavailable ({exc})"
    return (
        FacePool,
        "face_pool.FacePool (the bot's pool: forkserver workers, one FaceModel each, analysis.analyse per photo)",
    )


async def run(args) -> int:
    FacePool, note = pool_class()
    if FacePool is None:
        print(f"SKIPPED: {note}")
        return 1
    inputs = bot_inputs()
    if args.own_sessions:
        from lookalike.answering import face_pool

        face_pool._prepare_worker = _prepare_worker_in_own_session
        note += "; --own-sessions: each worker in its own session, hence its own scheduler autogroup"
    pools = {}
    for w in args.workers:
        started = now()
        pools[w] = FacePool(w, max_pending=10**6, job_timeout=300)
        await pools[w].start()
        print(f"{w}-worker pool started in {now() - started:.1f} s", flush=True)
    try:
        for w, pool in pools.items():  # warm-up: one photo per worker
            await asyncio.gather(*(pool.analyse(d) for d in inputs[:w]))
        rates = {w: [] for w in pools}
        cpu = {w: [] for w in pools}  # worker CPU seconds per photo, per round
        share = {w: [] for w in pools}  # cores the workers obtained: CPU seconds / wall seconds
        faces = dict.fromkeys(pools, 0)
        for r in range(args.rounds):
            order = list(pools) if r % 2 == 0 else list(reversed(pools))
            for w in order:
                cpu_before, started = worker_cpu_seconds(pools[w]), now()
                results = await asyncio.gather(*(pools[w].analyse(d) for d in inputs))
                elapsed, used = now() - started, worker_cpu_seconds(pools[w]) - cpu_before
                rates[w].append(len(inputs) / elapsed)
                cpu[w].append(used / len(inputs))
                share[w].append(used / elapsed)
                faces[w] = sum(len(a.faces) for a in results)
                errors = [a.error for a in results if a.error]
                if errors:
                    print(f"warning: {len(errors)} photos failed to decode: {errors[:3]}")
            print(
                f"round {r + 1}: "
                + ", ".join(
                    f"{w} worker(s) {rates[w][-1]:.2f} photos/s ({share[w][-1]:.2f} cores obtained)" for w in order
                ),
                flush=True,
            )
    finally:
        for pool in pools.values():
            pool.shutdown()
    report(args, note, inputs, rates, cpu, share, faces)
    return 0


def report(args, note, inputs, rates, cpu, share, faces) -> None:
    print()
    common.banner(
        "Worker pool throughput",
        [
            note,
            f"{len(inputs)} photos per round (sample portraits at the bot's 800 px), {args.rounds} rounds, "
            f"pools alternate which goes first; faces found per round: {faces}",
            "cores obtained = the workers' CPU seconds (/proc) / wall seconds: below the worker count when other "
            "processes hold the cores",
        ],
    )
    rows = [
        [
            w,
            f"{median(rates[w]):.2f}",
            f"{min(rates[w]):.2f}",
            f"{max(rates[w]):.2f}",
            f"{median(share[w]):.2f}",
            f"{1000 * median(cpu[w]):.0f}",
            f"{median(rates[w]) / median(share[w]):.2f}",
        ]
        for w in rates
    ]
    print(
        table(
            [
                "workers",
                "photos/s median",
                "min",
                "max",
                "cores obtained",
                "CPU ms per photo",
                "photos/s per obtained core",
            ],
            rows,
        )
    )
    workers = sorted(rates)
    if len(workers) >= 2:
        low, high = workers[0], workers[-1]
        paired = [h / l for h, l in zip(rates[high], rates[low])]
        shares = [h / l for h, l in zip(share[high], share[low])]
        per_core = [(h / sh) / (l / sl) for h, l, sh, sl in zip(rates[high], rates[low], share[high], share[low])]
        print(
            f"scaling {low} -> {high} workers: {fmt_ratio(median(paired))} photos/s (median of per-round ratios; "
            f"ideal {high / low:.0f}x; min {fmt_ratio(min(paired))}, max {fmt_ratio(max(paired))}); "
            f"cores obtained {fmt_ratio(median(shares))}; photos/s per obtained core {fmt_ratio(median(per_core))}"
        )
    cpu_per_photo = median([c for w in workers for c in cpu[w]])
    need_cpu = math.ceil(TELEGRAM_MESSAGES_PER_SECOND * cpu_per_photo)
    per_core_rate = median(rates[workers[-1]]) / workers[-1]
    need_rate = math.ceil(TELEGRAM_MESSAGES_PER_SECOND / per_core_rate)
    print(
        f"cores for Telegram's ~{TELEGRAM_MESSAGES_PER_SECOND} messages/s (one answer message per photo): "
        f"{need_cpu} from the CPU time per photo ({1000 * cpu_per_photo:.0f} ms, i.e. {1 / cpu_per_photo:.1f} "
        f"photos/s per core you own); {need_rate} at the rate measured here per worker "
        f"({per_core_rate:.2f} photos/s, cores shared with other processes); the bot's main process "
        "(index look-ups, Telegram traffic) not counted"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6, help="batches per pool (default 6)")
    parser.add_argument(
        "--workers",
        type=lambda s: sorted({int(x) for x in s.split(",")}),
        default=[1, 2],
        help="comma list of pool sizes (default 1,2)",
    )
    parser.add_argument(
        "--own-sessions",
        action="store_true",
        help="start each worker in a session of its own: where the kernel shares CPU between sessions "
        "(sched_autogroup), all of a benchmark's workers otherwise share one session's slice",
    )
    args = parser.parse_args(argv)
    common.require(SAMPLES)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
