"""Throughput of the Wikidata dump scan (``lookalike.fetcher.wikidata_dump``): MB/s of
decompressed JSON and entities/s, on one core (CPU time) for a gzip and a bzip2 dump, against two
baselines timed in the same run on the same files: decompression alone (the ceiling) and
parsing every line (what the cheap line filter saves). With ``--dask-workers 1,2`` the
uncompressed dump is also scanned on a LocalCluster of 1 and 2 workers (blocks split).

The dump is synthetic, made from the real entity ../shared/data/wikidata/Q42.json: each
entity is Q42 cut to about ``--size`` KB of statements plus ~80% of its sitelinks (~17 KB
of JSON in all: the full dump's entities average some kilobytes to tens of kilobytes, and
the scan's speed per MB hardly depends on it, as long as lines are not tiny), with a fresh id and fresh random statement
hashes (so gzip finds no easy repeats); ``--humans-with-photo`` of them stay humans with an
image, ``--humans`` more are humans without one, ``--with-photo`` more keep an image but
are not humans, the rest are scholarly articles (the dump's commonest items).
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ujson
from common import CACHE, DATA, require, table

from lookalike.fetcher import wikidata_dump
from lookalike.fetcher.wikidata_dump import ScanCount, Wanted

Q42 = DATA / "wikidata" / "Q42.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument(
        "--size", type=float, default=12.0, help="KB of statements per entity (plus ~5 KB of sitelinks)"
    )
    parser.add_argument("--humans-with-photo", type=float, default=0.01)
    parser.add_argument("--humans", type=float, default=0.09)
    parser.add_argument("--with-photo", type=float, default=0.03)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--dask-workers", default="", help="e.g. 1,2: also scan the plain dump on a LocalCluster")
    args = parser.parse_args()
    require(Q42)
    plain = make_dump(args)
    files = {"gz": plain.with_suffix(".json.gz"), "bz2": plain.with_suffix(".json.bz2")}
    for kind, path in files.items():
        if not path.exists():
            opener = gzip.open if kind == "gz" else bz2.open
            with plain.open("rb") as source, opener(path, "wb") as target:
                target.write(source.read())
    size = plain.stat().st_size
    print(f"dump: {args.entities} entities, {size / 1e6:.0f} MB of JSON ({size / args.entities / 1e3:.1f} KB each);")
    print(", ".join(f"{kind} {path.stat().st_size / 1e6:.0f} MB" for kind, path in files.items()))
    wanted = Wanted.of(["en"])
    rows = []
    for kind, path in files.items():
        timings: dict[str, list[float]] = {
            "decompress only": [],
            "parse every line": [],
            "scan (filter, then parse)": [],
        }
        found = 0
        for _ in range(args.rounds):
            timings["decompress only"].append(timed(lambda p=path: decompress_only(p)))
            timings["parse every line"].append(timed(lambda p=path: parse_all(p)))
            count = ScanCount()
            timings["scan (filter, then parse)"].append(
                timed(lambda p=path, c=count: wikidata_dump.scan(p, wanted, 10**9, c))
            )
            found = count.people
        for name, seconds in timings.items():
            best = min(seconds)
            rows.append([kind, name, f"{size / 1e6 / best:.0f}", f"{args.entities / best:,.0f}", f"{best:.2f}"])
        print(f"{kind}: {found} people found")
    print()
    print(table(["dump", "what", "MB/s (JSON)", "entities/s", "CPU seconds (best)"], rows))
    print("one core, CPU time of this process (wall time on a shared machine counts the others' work)")
    if args.dask_workers:
        dask_rows(plain, wanted, size, args)


def dask_rows(plain: Path, wanted: Wanted, size: int, args: argparse.Namespace) -> None:
    import dask.bag
    from distributed import Client, LocalCluster

    from lookalike.fetcher import dump_listing

    rows = []
    for workers in [int(w) for w in args.dask_workers.split(",")]:
        with (
            LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            bag = dask.bag.read_text(str(plain), blocksize="16MiB")
            parts = bag.map_partitions(dump_listing._scan_part, wanted, 1000)
            client.compute(parts).result()  # warm the workers' imports
            best = min(wall_timed(lambda p=parts: client.compute(p).result()) for _ in range(args.rounds))
        rows.append([str(workers), f"{size / 1e6 / best:.0f}", f"{args.entities / best:,.0f}", f"{best:.2f}"])
    print()
    print("plain (uncompressed) dump on a LocalCluster, split into 16 MiB blocks (wall time, so only")
    print("meaningful on a quiet machine):")
    print(table(["dask workers", "MB/s (JSON)", "entities/s", "seconds (best)"], rows))


def timed(work) -> float:
    """CPU seconds of this process: on a shared machine, wall time counts the others' work too."""
    started = time.process_time()
    work()
    return time.process_time() - started


def wall_timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def decompress_only(path: Path) -> None:
    with path.open("rb") as file, wikidata_dump.open_dump(file) as stream:
        while stream.read(1 << 20):
            pass


def parse_all(path: Path) -> None:
    with path.open("rb") as file, wikidata_dump.open_dump(file) as stream:
        for line in wikidata_dump.lines_of(stream):
            line = line.rstrip().rstrip(b",")
            if len(line) > 1:
                ujson.loads(line)


def make_dump(args: argparse.Namespace) -> Path:
    name = f"dump_{args.entities}_{args.size}_{args.humans_with_photo}_{args.humans}_{args.with_photo}.json"
    path = CACHE / name
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    template = json.loads(Q42.read_text(encoding="utf-8"))
    template["claims"] = cut_claims(template["claims"], args.size * 1000)
    rng = random.Random(0)
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for n in range(args.entities):
            out.write(fresh(template, n, args, rng))
            out.write(",\n" if n + 1 < args.entities else "\n")
        out.write("]\n")
    return path


def cut_claims(claims: dict, size: int) -> dict:
    """Q42's properties in order, with P31 and P18, up to about ``size`` bytes of JSON in all."""
    kept = {prop: claims[prop] for prop in ("P31", "P18")}
    for prop, statements in claims.items():
        if len(json.dumps(kept, separators=(",", ":"))) >= size:
            break
        kept.setdefault(prop, statements)
    return kept


def fresh(template: dict, n: int, args: argparse.Namespace, rng: random.Random) -> str:
    entity = dict(template, id=f"Q{1000 + n}", title=f"Q{1000 + n}")
    claims = dict(template["claims"])
    draw = rng.random()
    human = draw < args.humans_with_photo + args.humans
    photo = draw < args.humans_with_photo or args.humans_with_photo + args.humans <= draw < (
        args.humans_with_photo + args.humans + args.with_photo
    )
    claims["P31"] = [_instance("Q5" if human else "Q13442814")]
    if photo:
        claims["P18"] = template["claims"].get("P18", _Q42_P18)
    else:
        claims.pop("P18", None)
    entity["claims"] = claims
    entity["sitelinks"] = {k: v for k, v in template["sitelinks"].items() if rng.random() < 0.8}
    text = json.dumps(entity, ensure_ascii=False, separators=(",", ":"))
    return _rehash(text, rng)


_Q42_P18 = json.loads(Q42.read_text(encoding="utf-8"))["claims"]["P18"] if Q42.exists() else []


def _instance(qid: str) -> dict:
    value = {"entity-type": "item", "numeric-id": int(qid[1:]), "id": qid}
    return {
        "mainsnak": {
            "snaktype": "value",
            "property": "P31",
            "datavalue": {"value": value, "type": "wikibase-entityid"},
            "datatype": "wikibase-item",
        },
        "type": "statement",
        "id": "x",
        "rank": "normal",
    }


def _rehash(text: str, rng: random.Random) -> str:
    parts = text.split('"hash":"')
    return parts[0] + "".join(f'"hash":"{rng.getrandbits(160):040x}' + part[40:] for part in parts[1:])


if __name__ == "__main__":
    main()
