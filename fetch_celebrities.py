"""Fetch a celebrity photos folder from Wikidata and Wikimedia Commons, with photo credits::

    python fetch_celebrities.py --out photos --contact you@example.org [--limit 5000]
        [--lang en,ru,...] [--occupation Q33999 ...] [--country Q159 ...] [--min-sitelinks N]
        [--born-after YEAR] [--photos-per-person 5] [--artworks]
        [--width 500] [--workers N] [--sparql-url URL] [--commons-api-url URL]
        [--dump latest-all.json.gz [--scheduler tcp://HOST:8786 | local]]

then ``python build_embeddings.py photos --out assets``. The fetch itself is
``lookalike.fetcher.celebrity_fetch.fetch``; photos/README.md describes what it writes.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import NoReturn

from lookalike import cluster
from lookalike.fetcher import celebrity_fetch, commons, wikidata
from lookalike.fetcher.celebrity_fetch import FetchError, FetchOptions
from lookalike.fetcher.polite_http import PoliteClient, user_agent
from lookalike.languages import LANGUAGES

TOOL = "LookalikeBotCelebrityFetcher"
VERSION = "1.0"

log = logging.getLogger("fetch_celebrities")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fetch_celebrities.py",
        description="Fetch famous people's photos and credits from Wikidata and Wikimedia Commons.",
    )
    # --contact is checked by _check (one line, not argparse's usage dump), so argparse is not
    # told it is required; the usage line and its own group say so in --help.
    parser.usage = "%(prog)s --contact EMAIL_OR_URL [--out DIR] [--limit N] [options]"
    parser.add_argument_group("required").add_argument(
        "--contact",
        default="",
        metavar="EMAIL_OR_URL",
        help="your e-mail or a URL, sent in the User-Agent as Wikimedia's policy asks",
    )
    parser.add_argument("--out", type=Path, default=Path("photos"), help="photos folder (default: photos)")
    parser.add_argument("--limit", type=int, default=1000, help="people to list, most famous first (default 1000)")
    parser.add_argument(
        "--lang",
        type=_languages,
        default=",".join(LANGUAGES),
        help=f"label languages, first one is the name (default: the bot's, {','.join(LANGUAGES)})",
    )
    parser.add_argument("--occupation", nargs="+", default=[], metavar="QID", help="only these occupations (P106)")
    parser.add_argument("--country", nargs="+", default=[], metavar="QID", help="only these citizenships (P27)")
    parser.add_argument(
        "--min-sitelinks",
        type=int,
        default=0,
        metavar="N",
        help="only people with at least N sitelinks (raise it if the query service times out)",
    )
    parser.add_argument(
        "--born-after", type=int, metavar="YEAR", help="only people born in a later year (Wikidata's P569)"
    )
    parser.add_argument(
        "--photos-per-person",
        type=int,
        default=celebrity_fetch.PHOTOS_PER_PERSON,
        metavar="N",
        help=f"photos of each person at most: Wikidata's image, then Commons files depicting them, then their "
        f"Commons category's (default {celebrity_fetch.PHOTOS_PER_PERSON}; 1: Wikidata's image only)",
    )
    parser.add_argument(
        "--artworks",
        action="store_true",
        help="keep paintings, drawings, engravings, statues, coins, stamps... (photos only by default)",
    )
    parser.add_argument(
        "--width", type=int, default=500, help=f"thumbnail width, one of {', '.join(map(str, commons.STANDARD_WIDTHS))}"
    )
    parser.add_argument("--workers", type=int, default=2, help="requests at a time (default 2, as Wikimedia asks)")
    parser.add_argument(
        "--page-size", type=int, default=5000, metavar="N", help="people per SPARQL query (default 5000)"
    )
    parser.add_argument(
        "--dump",
        type=Path,
        metavar="FILE",
        help="list the people from this Wikidata JSON dump (.json.gz, .json.bz2 or .json) instead of the query service",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="scan the dump on Dask: tcp://HOST:8786 (a running scheduler) or 'local' (a LocalCluster here)",
    )
    parser.add_argument("--sparql-url", default=celebrity_fetch.SPARQL_URL)
    parser.add_argument("--commons-api-url", default=celebrity_fetch.COMMONS_API_URL)
    args = parser.parse_args(None if argv is None else list(argv))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    problem = _check(args)
    if problem:
        print(f"fetch_celebrities.py: {problem}", file=sys.stderr)
        return 2
    options = FetchOptions(
        out=args.out,
        limit=args.limit,
        languages=args.lang,
        occupations=args.occupation,
        countries=args.country,
        min_sitelinks=args.min_sitelinks,
        born_after=args.born_after,
        width=args.width,
        photos_per_person=args.photos_per_person,
        artworks=args.artworks,
        workers=args.workers,
        page_size=args.page_size,
        sparql_url=args.sparql_url,
        commons_api_url=args.commons_api_url,
        dump=args.dump,
        scheduler=args.scheduler,
    )
    client = PoliteClient(user_agent(TOOL, VERSION, args.contact.strip()), max_parallel=args.workers)
    try:
        report = celebrity_fetch.fetch(options, client)
    except FetchError as exc:
        log.error("%s", exc)
        return 1
    return 130 if report.interrupted else 0


def _languages(value: str) -> list[str]:
    """``en, ru`` -> ["en", "ru"]."""
    return [lang.strip() for lang in value.split(",") if lang.strip()]


def _check(args: argparse.Namespace) -> str | None:
    """One line saying what is wrong with the arguments, or None."""
    contact = args.contact.strip()
    if not contact:
        return "--contact is required: your e-mail or a URL, for Wikimedia's User-Agent policy"
    if "@" not in contact and not contact.startswith(("http://", "https://")):
        return f"--contact {contact!r} is neither an e-mail address nor a URL"
    if args.width not in commons.STANDARD_WIDTHS:
        return f"--width {args.width}: Wikimedia serves only {', '.join(map(str, commons.STANDARD_WIDTHS))}"
    for name, value in (
        ("--limit", args.limit),
        ("--workers", args.workers),
        ("--page-size", args.page_size),
        ("--photos-per-person", args.photos_per_person),
    ):
        if value < 1:
            return f"{name} must be at least 1"
    if args.dump is not None and not args.dump.exists():
        return f"--dump {args.dump}: no such file"
    if args.scheduler is not None:
        if args.dump is None:
            return "--scheduler is for scanning a --dump on Dask"
        problem = cluster.check_scheduler(args.scheduler)
        if problem:
            return problem
    try:
        wikidata.check_languages(args.lang)
        wikidata.check_items(args.occupation, "--occupation")
        wikidata.check_items(args.country, "--country")
    except ValueError as exc:
        return str(exc)
    return None


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt  # a plain `kill` stops like Ctrl+C: what was fetched is published


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(main())
