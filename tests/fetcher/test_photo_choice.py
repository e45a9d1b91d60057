"""fetch_celebrities.py with several photos a person (issue #27): Wikidata's image, then the Commons
files that depict the person, then their Commons category's files; photographs, not artworks; each
photo with its own credit. Against the local stand-in for Wikidata and Commons
(tests/support/wikimedia_server.py), with real LFW faces and sample photos as the files."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.data import LFW, ROOT, SAMPLES, require
from tests.support.wikidata_dumps import entity, item, person_entity, statement, string, write_dump
from tests.support.wikimedia_server import FakeFile, FakePerson, FakeWikimedia

CONTACT = "ops@example.org"
AGENT = f"LookalikeBotCelebrityFetcher/1.0 ({CONTACT}) Python-urllib/3"
BUSH, PUTIN, RUMSFELD = "Q3001", "Q3002", "Q3003"
PAINTING = "File:George W. Bush, oil on canvas.jpg"
SIGNATURE = "File:George W. Bush signature.png"
GROUP = "File:Bush with a guest.jpg"


def face(person: str, number: int = 1) -> bytes:
    return require(LFW / person / f"{person}_{number:04d}.jpg").read_bytes()


def bush_files() -> list[FakeFile]:
    """George W. Bush on Commons, in the order the search ranks them: his Wikidata portrait, a painting
    (said by its structured data), four more photos of him, a photo of him with someone else, his
    signature (said by its category), each by another author."""
    portrait = FakeFile("File:George W. Bush portrait.jpg", face("George_W_Bush", 1), "White House photographer")
    portrait.depicts = [BUSH]
    painting = FakeFile(PAINTING, face("Donald_Rumsfeld", 9), "A Painter", depicts=[BUSH], instance_of=["Q3305213"])
    photos = [
        FakeFile(
            f"File:George W. Bush {year}.jpg",
            face("George_W_Bush", n),
            f"<a href='https://example.org/{n}'>Photographer {n}</a>",
            depicts=[BUSH],
            categories=[f"George W. Bush in {year}", "Photographs of George W. Bush"],
        )
        for n, year in zip(range(2, 6), (2001, 2002, 2003, 2004))
    ]
    group = FakeFile(
        GROUP,
        require(SAMPLES / "face_recognition" / "two_people.jpg").read_bytes(),
        "Press Photographer",
        depicts=[BUSH, "Q9999"],
        categories=["Group photographs"],
    )
    signature = FakeFile(
        SIGNATURE,
        face("Donald_Rumsfeld", 10),
        "Scanner",
        mime="image/png",
        depicts=[BUSH],
        categories=["Signatures of presidents of the United States", "George W. Bush"],  # split by the continuation
    )
    return [portrait, painting, photos[0], group, photos[1], signature, photos[2], photos[3]]


def world() -> tuple[list[FakePerson], list[FakeFile]]:
    """Bush (many photos), Putin (one depicting photo; the rest only in his Commons category),
    Rumsfeld (his Wikidata image only)."""
    people = [
        FakePerson(
            BUSH,
            ["File:George W. Bush portrait.jpg"],
            90,
            {"en": "George W. Bush"},
            {},
            "male",
            None,
            "1946-07-06T00:00:00Z",
        ),
        FakePerson(
            PUTIN,
            ["File:Vladimir Putin.jpg"],
            80,
            {"en": "Vladimir Putin"},
            {},
            "male",
            None,
            "1952-10-07T00:00:00Z",
            "Vladimir Putin",
        ),
        FakePerson(
            RUMSFELD,
            ["File:Donald Rumsfeld.jpg"],
            70,
            {"en": "Donald Rumsfeld"},
            {},
            "male",
            None,
            "1932-07-09T00:00:00Z",
        ),
    ]
    putin = [
        FakeFile("File:Vladimir Putin.jpg", face("Vladimir_Putin", 1), "Kremlin", depicts=[PUTIN]),
        FakeFile(
            "File:Putin 2003.jpg",
            face("Vladimir_Putin", 2),
            "Photographer P2",
            depicts=[PUTIN],
            categories=["Vladimir Putin"],
        ),
    ] + [
        FakeFile(
            f"File:Putin at an event {n}.jpg",
            face("Vladimir_Putin", n),
            f"Photographer P{n}",
            categories=["Vladimir Putin"],
            structured=n != 3,  # no structured data at all: "missing" MediaInfo
        )
        for n in range(3, 7)
    ]
    rumsfeld = [FakeFile("File:Donald Rumsfeld.jpg", face("Donald_Rumsfeld", 1), "Department of Defense")]
    return people, [*bush_files(), *putin, *rumsfeld]


@pytest.fixture
def fake():
    people, files = world()
    with FakeWikimedia(people, files) as server:
        yield server


def run(fake: FakeWikimedia, out: Path, *options: str) -> subprocess.CompletedProcess:
    done = subprocess.run(fake.command(out, CONTACT, *options), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def fetch(fake: FakeWikimedia, out: Path, **options):
    from lookalike.fetcher.celebrity_fetch import FetchOptions
    from lookalike.fetcher.celebrity_fetch import fetch as run_fetch
    from lookalike.fetcher.polite_http import PoliteClient

    settings = dict(languages=["en"], limit=100, sparql_url=fake.sparql_url, commons_api_url=fake.api_url)
    settings.update(options)
    return run_fetch(FetchOptions(out=out, **settings), PoliteClient(AGENT, max_parallel=2, backoff=0.05))


def catalog(out: Path) -> dict:
    return json.loads((out / "catalog.json").read_text(encoding="utf-8"))


def photo_files(out: Path) -> list[str]:
    """Every photo in the folder, relative, as the builder finds them (hidden ones left out)."""
    return sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*.jpg")
        if not any(part.startswith(".") for part in p.relative_to(out).parts)
    )


def check_every_photo_is_its_files(fake: FakeWikimedia, out: Path) -> dict[str, dict]:
    """Each photo on disk has exactly one record, whose file it is byte for byte and whose credit is
    that file's own; returns the records by path."""
    from lookalike.fetcher.commons import plain_text

    records = {image["path"]: (qid, image) for qid, entry in catalog(out).items() for image in entry.get("images", [])}
    assert photo_files(out) == sorted(records)
    for path, (qid, image) in records.items():
        source = fake.files[image["file"]]
        assert (out / path).read_bytes() == source.image, path
        assert image.get("author") == plain_text(source.artist_html or ""), path
        assert image["license"] == source.license_short and image["photo_width"] == 500
        assert path.startswith(qid)
    return {path: image for path, (_, image) in records.items()}


# --------------------------------------------------------------- the "done when"


def test_paintings_and_signatures_are_left_out_and_each_photo_keeps_its_own_author(fake, tmp_path):
    fake.categories_per_response = 2  # the categories come in several continued answers
    done = run(fake, tmp_path)
    bush = catalog(tmp_path)[BUSH]
    images = bush["images"]
    titles = [image["file"] for image in images]
    assert len(images) >= 3 and PAINTING not in titles and SIGNATURE not in titles
    assert titles == [
        "File:George W. Bush portrait.jpg",
        "File:George W. Bush 2001.jpg",
        "File:George W. Bush 2002.jpg",
        "File:George W. Bush 2003.jpg",
        "File:George W. Bush 2004.jpg",
    ]  # the P18 first; photos of him alone before the group photo, which 5 leaves out
    assert [image["source"] for image in images] == ["P18"] + ["depicts"] * 4
    assert images[0]["path"] == f"{BUSH}.jpg" and all(i["path"].startswith(f"{BUSH}/") for i in images[1:])
    assert images[1]["author"] == "Photographer 2" and images[1]["depicts"] == 1
    records = check_every_photo_is_its_files(fake, tmp_path)
    assert {path for path in records if path.startswith(BUSH)} == {image["path"] for image in images}
    # The entry's top-level credit is its first photo's, for readers that know only those fields.
    assert {k: bush[k] for k in ("file", "author", "license", "photo_url")} == {
        k: images[0][k] for k in ("file", "author", "license", "photo_url")
    }
    assert "file not used, painting: 1" in done.stderr and "file not used, signature: 1" in done.stderr


def test_a_photo_of_several_people_is_fetched_when_there_is_room_and_says_how_many_it_depicts(fake, tmp_path):
    fetch(fake, tmp_path, photos_per_person=7)
    images = catalog(tmp_path)[BUSH]["images"]
    assert [image["file"] for image in images][-1] == GROUP and images[-1]["depicts"] == 2
    assert len(images) == 6  # the P18, four photos alone, the group photo: no painting, no signature
    check_every_photo_is_its_files(fake, tmp_path)


def test_artworks_are_kept_when_asked_for(fake, tmp_path):
    report = fetch(fake, tmp_path, artworks=True)
    titles = [image["file"] for image in catalog(tmp_path)[BUSH]["images"]]
    assert PAINTING in titles and SIGNATURE in titles
    assert "painting" not in report.rejected and "signature" not in report.rejected
    check_every_photo_is_its_files(fake, tmp_path)


def test_a_person_whose_only_image_is_a_painting_is_skipped_with_that_reason(fake, tmp_path):
    painted = FakeFile("File:Napoleon.jpg", face("Donald_Rumsfeld", 2), "Jacques-Louis David")
    painted.categories = ["Portrait paintings of Napoleon"]
    fake.files[painted.title] = painted
    fake.people.append(FakePerson("Q517", [painted.title], 200, {"en": "Napoleon"}))
    report = fetch(fake, tmp_path)
    assert report.skipped == {"no usable photo (painting)": 1} and "Q517" not in catalog(tmp_path)
    assert not (tmp_path / "Q517.jpg").exists() and not (tmp_path / "Q517").exists()


# --------------------------------------------------------------- where the files come from


def test_the_persons_commons_category_fills_in_when_too_few_files_depict_them(fake, tmp_path):
    fetch(fake, tmp_path)
    putin = catalog(tmp_path)[PUTIN]
    assert putin["commons_category"] == "Vladimir Putin"
    assert [(i["file"], i["source"]) for i in putin["images"]] == [
        ("File:Vladimir Putin.jpg", "P18"),
        ("File:Putin 2003.jpg", "depicts"),  # also in the category: once, as found first
        ("File:Putin at an event 3.jpg", "category"),
        ("File:Putin at an event 4.jpg", "category"),
        ("File:Putin at an event 5.jpg", "category"),
    ]
    check_every_photo_is_its_files(fake, tmp_path)
    # One category request, for Putin only: Bush has enough depicting files, Rumsfeld has no category.
    (listing,) = fake.api_hits("categorymembers")
    assert listing.params()["cmtitle"] == "Category:Vladimir Putin" and listing.params()["cmtype"] == "file"


def test_one_photo_a_person_is_the_fetch_as_it_was_before(tmp_path):
    """--photos-per-person 1: Wikidata's image only, <QID>.jpg and nothing else, the same entries
    as before plus their one-record ``images``, and no searching."""
    from tests.fetcher.test_celebrity_fetch import USABLE, credit, sandler_before_27
    from tests.fetcher.test_celebrity_fetch import world as one_photo_world

    with FakeWikimedia(*one_photo_world()) as fake:
        run(fake, tmp_path, "--photos-per-person", "1", "--lang", "en,ru")
        assert photo_files(tmp_path) == [f"{qid}.jpg" for qid in USABLE]
        entries = catalog(tmp_path)
        sandler = entries["Q1001"]
        assert sandler == {
            **sandler_before_27(fake),
            "images": [{"path": "Q1001.jpg", "source": "P18", **credit(sandler)}],
        }
        assert fake.api_hits("search") == [] and fake.api_hits("categorymembers") == []
        assert len(fake.thumb_hits()) == 7  # the six photos and the broken one, as before
    with FakeWikimedia(*world()) as fake:
        fetch(fake, tmp_path / "bush", photos_per_person=1)
        assert photo_files(tmp_path / "bush") == [f"{qid}.jpg" for qid in (BUSH, PUTIN, RUMSFELD)]


# --------------------------------------------------------------- politeness, batches, resuming


def test_a_second_run_fetches_nothing_new(fake, tmp_path):
    fetch(fake, tmp_path)
    before = catalog(tmp_path)
    first = len(fake.hits)
    report = fetch(fake, tmp_path)
    again = fake.hits[first:]
    assert report.fetched == 0 and report.already == 5 + 5 + 1
    assert [hit for hit in again if hit.path.startswith("/thumb/")] == []
    # Bush and Putin have their five photos: not looked up again. Rumsfeld has one: Commons is
    # searched again for more (one request), which finds nothing new.
    (search,) = [hit for hit in again if hit.path.startswith("/w/api.php")]
    assert search.params()["srsearch"] == f"haswbstatement:P180={RUMSFELD}"
    assert catalog(tmp_path) == before


def test_a_changed_photo_replaces_only_what_it_must(fake, tmp_path):
    fetch(fake, tmp_path)
    old = {image["path"]: image for image in catalog(tmp_path)[BUSH]["images"]}
    fake.files["File:George W. Bush 2002.jpg"].missing = True  # deleted from Commons: no search finds it
    report = fetch(fake, tmp_path, photos_per_person=6)
    images = catalog(tmp_path)[BUSH]["images"]
    # Kept though not found again (the person has room for it), and the group photo added.
    assert {image["path"] for image in images} >= set(old) and GROUP in [i["file"] for i in images]
    assert len(images) == 6
    assert report.fetched == 2  # only new files: Bush's group photo, and Putin's sixth from his category
    check_every_photo_is_its_files(fake, tmp_path)
    # With room for five only, the file no longer found goes, replaced by the group photo.
    fetch(fake, tmp_path, photos_per_person=5)
    assert len(catalog(tmp_path)[BUSH]["images"]) == 6  # complete: nothing looked up, nothing removed
    fake.people[0].files = ["File:George W. Bush 2001.jpg"]  # Wikidata's image is now another file
    fetch(fake, tmp_path, photos_per_person=5)
    images = catalog(tmp_path)[BUSH]["images"]
    assert [i["file"] for i in images][0] == "File:George W. Bush 2001.jpg" and len(images) == 5
    assert "File:George W. Bush 2002.jpg" not in [i["file"] for i in images]
    check_every_photo_is_its_files(fake, tmp_path)


def test_a_file_the_fetcher_does_not_name_is_never_removed_and_its_record_stays(fake, tmp_path):
    fetch(fake, tmp_path)
    entries = catalog(tmp_path)
    mine = {"path": f"{RUMSFELD}.jpg", "source": "mine", "author": "me"}  # another person's photo...
    selfie = {"path": "selfies/bush.jpg", "source": "mine", "author": "me"}  # ...and an operator's own
    (tmp_path / "selfies").mkdir()
    (tmp_path / "selfies" / "bush.jpg").write_bytes(face("George_W_Bush", 9))
    entries[BUSH]["images"] += [mine, selfie]
    (tmp_path / "catalog.json").write_text(json.dumps(entries), encoding="utf-8")
    fake.people[0].files = ["File:George W. Bush 2001.jpg"]  # Bush is looked up again, his photos redone
    fetch(fake, tmp_path, photos_per_person=2)
    assert (tmp_path / f"{RUMSFELD}.jpg").read_bytes() == face("Donald_Rumsfeld", 1)
    assert (tmp_path / "selfies" / "bush.jpg").exists()
    images = catalog(tmp_path)[BUSH]["images"]
    assert images[-2:] == [mine, selfie] and images[0]["file"] == "File:George W. Bush 2001.jpg"


def test_a_429_on_the_search_pauses_every_request_then_the_search_is_answered(fake, tmp_path):
    fake.retry_after = "2"
    fake.too_many["search"] = 1
    fetch(fake, tmp_path)
    throttled = [hit for hit in fake.hits if hit.status == 429]
    assert len(throttled) == 1 and "list=search" in throttled[0].path
    after = sorted(hit.at - throttled[0].at for hit in fake.hits if hit.at > throttled[0].at)
    assert after and after[0] >= 1.9, after  # nothing at all for the 2 s the server asked for
    assert len(catalog(tmp_path)[BUSH]["images"]) == 5


def test_titles_and_entities_are_asked_for_50_a_request(tmp_path):
    people, files = [], []
    names = sorted(p.name for p in require(LFW).iterdir() if p.is_dir())[:60]
    for i, name in enumerate(names):
        qid = f"Q{4000 + i}"
        shots = sorted((LFW / name).glob("*.jpg"))
        titles = [f"File:{name.replace('_', ' ')} {n}.jpg" for n in range(3)]
        people.append(FakePerson(qid, [titles[0]], 100 - i, {"en": name.replace("_", " ")}))
        files += [
            FakeFile(t, shots[n % len(shots)].read_bytes(), f"Author {i}.{n}", depicts=[qid])
            for n, t in enumerate(titles)
        ]
    with FakeWikimedia(people, files) as fake:
        fetch(fake, tmp_path, photos_per_person=3)
        asked = [len(hit.params()["titles"].split("|")) for hit in fake.api_hits("imageinfo")]
        entities = [len(hit.params()["ids"].split("|")) for hit in fake.api_hits("wbgetentities")]
        # 60 people: a batch of 50 (150 files) and one of 10 (30 files).
        assert asked == [50, 50, 50, 30] and entities == [50, 50, 50, 30]
        assert len(fake.api_hits("search")) == 60 and len(fake.thumb_hits()) == 180
        assert all(len(catalog(tmp_path)[p.qid]["images"]) == 3 for p in people)


def test_ctrl_c_leaves_every_photo_with_its_record_and_the_next_run_finishes(fake, tmp_path):
    out = tmp_path / "photos"
    fake.image_delay = 0.3
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            fake.command(out, CONTACT), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    finally:
        signal.signal(signal.SIGINT, inherited)
    deadline = time.monotonic() + 30
    while len(fake.thumb_hits()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # Bush's first two photos on their way, his other three not started
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 130, output
    published = check_every_photo_is_its_files(fake, out)
    assert 2 <= len(catalog(out)[BUSH]["images"]) < 5, output  # what he got is published, with its records
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    fake.image_delay = 0
    run(fake, out)
    published = check_every_photo_is_its_files(fake, out)
    assert len(published) == 11 and len(catalog(out)[BUSH]["images"]) == 5


# --------------------------------------------------------------- --born-after, on both paths


def test_born_after_chooses_the_same_people_from_the_query_service_and_from_a_dump(fake, tmp_path):
    from lookalike.fetcher.wikidata_dump import Wanted, person_of

    queried = fetch(fake, tmp_path / "queried", born_after=1940, photos_per_person=1)
    assert "FILTER(YEAR(?birth) > 1940)" in fake.queries[-1]
    assert sorted(catalog(tmp_path / "queried")) == [BUSH, PUTIN] and queried.listed == 2
    unknown = entity(
        "Q3009",
        {"en": "Born on an unknown date"},
        {
            "P31": [statement("P31", item("Q5"))],
            "P18": [statement("P18", string("Donald Rumsfeld.jpg"))],
            "P569": [statement("P569", None, snaktype="somevalue")],
        },
        {},
    )
    dump = write_dump(tmp_path / "dump.json.gz", [*(person_entity(p) for p in fake.people), unknown])
    dumped = fetch(fake, tmp_path / "dumped", born_after=1940, photos_per_person=1, dump=dump)
    assert catalog(tmp_path / "dumped") == catalog(tmp_path / "queried") and dumped.listed == 2
    assert person_of(unknown, Wanted.of(["en"], born_after=1940)) is None
    assert person_of(unknown, Wanted.of(["en"])) is not None
    assert person_of(person_entity(fake.people[1]), Wanted.of(["en"], born_after=1952)) is None  # 1952: not after
    assert person_of(person_entity(fake.people[1]), Wanted.of(["en"], born_after=1951)) is not None


# --------------------------------------------------------------- the judgement itself


@pytest.mark.parametrize(
    ("category", "kind"),
    [
        ("Category:Portrait paintings of George Washington", "painting"),
        ("Paintings by Gilbert Stuart", "painting"),
        ("Portraits painted by John Singleton Copley", "painting"),
        ("Drawings of Abraham Lincoln", "drawing"),
        ("Engraved portraits of Isaac Newton", "engraving"),
        ("Engravings by Albrecht Dürer", "engraving"),
        ("Lithographs of Otto von Bismarck", "print"),
        ("Prints of Napoleon", "print"),
        ("Statues of Winston Churchill", "statue"),
        ("Busts of Voltaire", "bust"),
        ("Wax figures of Michael Jackson", "sculpture"),
        ("Coins of Elizabeth II", "coin"),
        ("Queen Victoria on stamps", "stamp"),
        ("Illustrations of Sherlock Holmes", "illustration"),
        ("Caricatures of Charles Darwin", "caricature"),
        ("Signatures of presidents of the United States", "signature"),
        ("Napoleon I in art", "artwork"),
        ("Photographs of Angela Merkel", None),
        ("Photographs of busts", None),
        ("Black and white photographs of Albert Einstein", None),
        ("Portraits of Angela Merkel", None),
        ("Angela Merkel in 2019", None),
        ("Angela Merkel at a painting exhibition", None),
        ("Handprints at the TCL Chinese Theatre", None),
        ("Artists of the Bauhaus", None),
    ],
)
def test_the_category_words_that_make_a_file_an_artwork(category, kind):
    from lookalike.fetcher.artworks import category_kind

    assert category_kind(category) == kind


def test_structured_data_and_formats_that_make_a_file_unusable():
    from lookalike.fetcher.artworks import artwork_kind, format_problem
    from lookalike.fetcher.structured_data import MediaInfo

    assert artwork_kind([], MediaInfo(frozenset({"Q3305213"}), ())) == "painting"
    assert artwork_kind([], MediaInfo(frozenset({"Q188675"}), ())) == "signature"
    assert artwork_kind([], MediaInfo(frozenset({"Q125191"}), ("Q1",))) is None  # a photograph
    assert artwork_kind(["Category:Photographs of X"], None) is None
    assert format_problem("image/jpeg") is None and format_problem("image/png") is None
    assert format_problem("image/svg+xml") == "not a photo format (image/svg+xml)"
    assert format_problem("image/svg+xml", keep_artworks=True) is None
    assert format_problem("application/pdf", keep_artworks=True) == "not an image file (application/pdf)"
    assert format_problem("image/vnd.djvu") == "not an image file (image/vnd.djvu)"


def test_a_non_photo_format_is_left_out(fake, tmp_path):
    drawn = FakeFile("File:George W. Bush logo.svg", face("George_W_Bush", 7), "Designer", mime="image/svg+xml")
    drawn.depicts = [BUSH]
    fake.files = {drawn.title: drawn, **fake.files}  # ranked first by the search
    report = fetch(fake, tmp_path)
    assert report.rejected["not a photo format (image/svg+xml)"] == 1
    assert drawn.title not in [i["file"] for i in catalog(tmp_path)[BUSH]["images"]]
