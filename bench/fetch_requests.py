"""Requests and time of a fetch (``fetch_celebrities.py``) with several photos a person, against
the baseline of one photo a person (``--photos-per-person 1``, the fetch before issue #27), on
the same people in the same run, then a second run of the first (what a re-run costs), scaled to
a gallery of ``--target`` people (5,000 by default).

Measured on the code: the real fetch, with its default politeness (2 requests at a time),
against the tests' local stand-in for Wikidata and Commons (tests/support/wikimedia_server.py),
which answers every API request after ``--api-latency`` seconds and every thumbnail after
``--thumb-latency`` (Wikimedia's thumbnails take ~0.2-0.5 s each; its API answers these small
queries in ~0.1-0.5 s; both are assumptions, printed with the figures). Requests are counted
per kind; per person they do not depend on the gallery's size (the look-ups are batched 50
people at a time), so they scale linearly. The time scales nearly so: a batch's look-ups overlap
the previous batch's downloads, except for the first batch's and the last one's, which weigh
less in a longer fetch: the measured time scaled is an upper bound (the default 200 people are
4 batches), and the time the requests would take with both slots always busy (their latencies
added up, halved) a lower one. The one SPARQL query (a page of 5,000 people) is left out: the
query service takes from seconds to its 60 s limit for it.

The people (real LFW photos as the files), in ten: six with plenty of files depicting them (a
painting among them), three with two depicting files and a Commons category of six files, one
whose Wikidata image is a painting and who has nothing else.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import LFW, ROOT, require, table

sys.path.insert(0, str(ROOT))
from lookalike.fetcher.celebrity_fetch import FetchOptions, fetch
from lookalike.fetcher.polite_http import PoliteClient
from tests.support.wikimedia_server import FakeFile, FakePerson, FakeWikimedia, api_kind

AGENT = "LookalikeBotCelebrityFetcher/1.0 (bench@example.org) Python-urllib/3"
KINDS = ("search", "categorymembers", "imageinfo", "wbgetentities", "thumbnail")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--photos", type=int, default=5, help="--photos-per-person of the candidate")
    parser.add_argument("--api-latency", type=float, default=0.3)
    parser.add_argument("--thumb-latency", type=float, default=0.35)
    parser.add_argument("--target", type=int, default=5000, help="the gallery the figures are scaled to")
    args = parser.parse_args()
    require(LFW)
    logging.basicConfig(level=logging.WARNING)
    people, files = world(args.people)
    runs = []
    with FakeWikimedia(people, files) as fake, tempfile.TemporaryDirectory() as work:
        fake.api_delay, fake.image_delay = args.api_latency, args.thumb_latency
        for name, folder, photos in (
            ("--photos-per-person 1 (baseline)", "one", 1),
            (f"--photos-per-person {args.photos}", "several", args.photos),
            (f"--photos-per-person {args.photos}, second run", "several", args.photos),
        ):
            first = len(fake.hits)
            started = time.monotonic()
            report = fetch(
                FetchOptions(
                    out=Path(work) / folder,
                    limit=args.people,
                    photos_per_person=photos,
                    sparql_url=fake.sparql_url,
                    commons_api_url=fake.api_url,
                ),
                PoliteClient(AGENT, max_parallel=2),
            )
            seconds = time.monotonic() - started
            counts = Counter(kind_of(hit) for hit in fake.hits[first:] if not hit.path.startswith("/sparql"))
            runs.append((name, counts, seconds, report.fetched + report.already))
    scale = args.target / args.people
    print(
        f"{args.people} people measured, scaled to {args.target:,}; API {args.api_latency} s a request, "
        f"thumbnails {args.thumb_latency} s each, 2 requests at a time\n"
    )
    rows = [
        [
            name,
            *(f"{counts[k] * scale:,.0f}" for k in KINDS),
            f"{sum(counts.values()) * scale:,.0f}",
            f"{photos * scale:,.0f}",
            f"{busy(counts, args) * scale / 60:,.0f}-{seconds * scale / 60:,.0f} min",
            f"{seconds:.1f} s",
        ]
        for name, counts, seconds, photos in runs
    ]
    header = ["run", *KINDS, "requests", "photos", f"time for {args.target:,}", f"measured ({args.people})"]
    print(table(header, rows))
    base = runs[0][2]
    print(f"\ntime against the baseline: {runs[1][2] / base:.1f}x (first run), {runs[2][2] / base:.2f}x (second run)")


def busy(counts: Counter, args: argparse.Namespace) -> float:
    """Seconds the requests take with both slots always busy: their latencies added up, halved."""
    thumbs = counts["thumbnail"]
    return ((sum(counts.values()) - thumbs) * args.api_latency + thumbs * args.thumb_latency) / 2


def kind_of(hit) -> str:
    return "thumbnail" if hit.path.startswith("/thumb/") else api_kind(hit.params())


def world(count: int) -> tuple[list[FakePerson], list[FakeFile]]:
    """``count`` people as the module's docstring says, their files from LFW's photos."""
    names = [p.name for p in sorted(LFW.iterdir()) if p.is_dir()][:count]
    painting = (LFW / names[0] / f"{names[0]}_0001.jpg").read_bytes()  # a stand-in: the fetcher never looks
    people, files = [], []
    for i, name in enumerate(names):
        qid, label = f"Q{10000 + i}", name.replace("_", " ")
        shots = sorted((LFW / name).glob("*.jpg"))

        def photo(title: str, n: int, shots: list[Path] = shots, **fields) -> FakeFile:
            return FakeFile(f"File:{title}.jpg", shots[n % len(shots)].read_bytes(), f"Author of {title}", **fields)

        kind = i % 10
        category = f"{label} (bench)" if kind in (6, 7, 8) else None
        if kind == 9:
            p18 = FakeFile(f"File:{label} painted.jpg", painting, "A painter", categories=["Portrait paintings"])
            files.append(p18)
        else:
            p18 = photo(f"{label} portrait", 0, depicts=[qid])
            depicting = 8 if kind < 6 else 2
            files += [p18, photo(f"{label} painting", 1, depicts=[qid], instance_of=["Q3305213"])]
            files += [photo(f"{label} {n}", n, depicts=[qid]) for n in range(1, depicting + 1)]
            if category:
                files += [photo(f"{label} at an event {n}", n, categories=[category]) for n in range(6)]
        people.append(FakePerson(qid, [p18.title], 1000 - i, {"en": label}, commons_category=category))
    return people, files


if __name__ == "__main__":
    main()
