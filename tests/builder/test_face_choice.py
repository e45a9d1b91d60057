"""The builder with several photos a person (issue #27): group photos, wrong files, the P18
anchor, per-photo credits, and folders without a catalog as before.

One gallery is built per module (2 workers, 1 jitter) from real LFW and sample photos laid
out as fetch_celebrities.py lays them out (``Q1.jpg``, the P18 image; ``Q1/<hex>.jpg``, the
others; ``catalog.json`` with ``images``), beside people without a catalog entry.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike import assets_layout
from tests.support.assets import records
from tests.support.data import LFW, SAMPLES, require

GROUP = ("George_W_Bush", 276)  # Bush centred and largest (the main face), Koizumi at the right edge
KOIZUMI_BOX = (170, 83, 249, 170)  # Koizumi's face in GROUP
TENNIS = ("Pete_Sampras", 8)  # Sampras centred (the main face), Agassi's face larger, at the top right
AGASSI_BOX = (146, 8, 249, 112)
STAND_IN = ("Ricardo_Lagos", 1)  # another person's photo as Lula's P18: a painting, a wrong file
SUMMIT = ("Hugo_Chavez", 33)  # Chavez centred and largest (the main face), Lula at the left edge
LULA_BOX = (0, 100, 100, 204)
THUMB_SIZE = 256  # the default: large enough to find the faces again in a thumbnail


def lfw(person: str, number: int) -> Path:
    return require(LFW / person / f"{person}_{number:04d}.jpg")


def commons_name(title: str) -> str:
    """The fetcher's file name of a Commons file that is not the P18: 16 hex of sha1(title)."""
    return hashlib.sha1(title.encode()).hexdigest()[:16] + ".jpg"


def credit(title: str, author: str | None = None, **fields) -> dict:
    entry = {
        "file": f"File:{title}",
        "file_page": f"https://commons.wikimedia.org/wiki/File:{title.replace(' ', '_')}",
        "photo_url": f"https://upload.wikimedia.org/{commons_name(title)}",
        "photo_width": 500,
        "license": "CC BY-SA 4.0",
        "license_url": "https://creativecommons.org/licenses/by-sa/4.0",
        **fields,
    }
    if author is not None:
        entry["author"] = author
    return entry


def person(photos: Path, key: str, name: str, p18: Path | None, others: list[tuple[str, str, Path]]) -> dict:
    """Lay out ``key``'s photos as the fetcher does; its catalog entry (top-level credit: images[0]'s).

    ``others``: (source, Commons title, photo)."""
    images = []
    if p18 is not None:
        (photos / f"{key}.jpg").symlink_to(p18)
        images.append({"path": f"{key}.jpg", "source": "P18", **credit(f"{key} P18.jpg", f"P18 author of {key}")})
    if others:
        (photos / key).mkdir()
    for number, (source, title, photo) in enumerate(others):
        (photos / key / commons_name(title)).symlink_to(photo)
        images.append({"path": f"{key}/{commons_name(title)}", "source": source, **credit(title, f"Author {number}")})
    top = {field: value for field, value in images[0].items() if field not in ("path", "source")}
    return {"name": name, "link": f"https://www.wikidata.org/wiki/{key}", **top, "images": images}


def twin_photo(path: Path, left: Path, right: Path) -> Path:
    """Two photos of one person side by side: a photo where two faces agree with them (twins)."""
    sheet = Image.new("RGB", (500, 250))
    sheet.paste(Image.open(left), (0, 0))
    sheet.paste(Image.open(right), (250, 0))
    sheet.save(path, quality=95)
    return path


def make_photos(root: Path) -> Path:
    photos = root / "photos"
    photos.mkdir()
    catalog = {
        # the P18 is a group photo: Koizumi's face is neither the largest nor the central one
        "Q1": person(
            photos,
            "Q1",
            "Junichiro Koizumi",
            lfw(*GROUP),
            [
                ("depicts", "Koizumi 2001.jpg", lfw("Junichiro_Koizumi", 1)),
                ("category", "K.jpg", lfw("Junichiro_Koizumi", 2)),
            ],
        ),
        # the same file is Bush's P18 too: his face, and his own thumbnail of it
        "Q2": person(
            photos,
            "Q2",
            "George W. Bush",
            lfw(*GROUP),
            [("depicts", "Bush 1.jpg", lfw("George_W_Bush", 1)), ("depicts", "Bush 2.jpg", lfw("George_W_Bush", 2))],
        ),
        # a P18 of someone else (a painting, a wrong file) against four real photos and a group photo: it loses
        "Q3": person(
            photos,
            "Q3",
            "Luiz Inácio Lula da Silva",
            lfw(*STAND_IN),
            [
                *[("depicts", f"Lula {n}.jpg", lfw("Luiz_Inacio_Lula_da_Silva", n)) for n in (1, 2, 3, 5)],
                ("category", "Chavez and Lula.jpg", lfw(*SUMMIT)),
            ],
        ),
        # a wrong file (two other people) and a group photo where the main face is another's
        "Q4": person(
            photos,
            "Q4",
            "Andre Agassi",
            lfw("Andre_Agassi", 1),
            [
                ("depicts", "Agassi 2.jpg", lfw("Andre_Agassi", 2)),
                ("depicts", "Agassi 3.jpg", lfw("Andre_Agassi", 3)),
                ("category", "Obama and Biden.jpg", require(SAMPLES / "face_recognition" / "two_people.jpg")),
                ("category", "Sampras and Agassi.jpg", lfw(*TENNIS)),
            ],
        ),
        # twins: two faces of the person in one photo
        "Q5": person(
            photos,
            "Q5",
            "Vladimir Putin",
            lfw("Vladimir_Putin", 1),
            [
                ("depicts", "Putin 2.jpg", lfw("Vladimir_Putin", 2)),
                ("depicts", "Putin 3.jpg", lfw("Vladimir_Putin", 3)),
                (
                    "category",
                    "Putin twice.jpg",
                    twin_photo(root / "twins.jpg", *(lfw("Vladimir_Putin", n) for n in (4, 5))),
                ),
            ],
        ),
        # the P18 agrees with one photo, two photos of another person with each other: a tie the P18 wins
        "Q6": person(
            photos,
            "Q6",
            "Jennifer Aniston",
            lfw("Jennifer_Aniston", 1),
            [
                ("depicts", "Aniston 2.jpg", lfw("Jennifer_Aniston", 2)),
                ("category", "Chirac 1.jpg", lfw("Jacques_Chirac", 1)),
                ("category", "Chirac 2.jpg", lfw("Jacques_Chirac", 2)),
            ],
        ),
        # one photo, fetched with --photos-per-person 1
        "Q7": person(photos, "Q7", "Winona Ryder", lfw("Winona_Ryder", 1), []),
        # the P18 and two files of two other people: nothing agrees, the P18 stands alone
        "Q9": person(
            photos,
            "Q9",
            "Tom Hanks",
            lfw("Tom_Hanks", 1),
            [("depicts", "Rumsfeld.jpg", lfw("Donald_Rumsfeld", 1)), ("category", "Laura.jpg", lfw("Laura_Bush", 1))],
        ),
        # the P18 and one agreeing photo among three of other people: a minority with the P18 stands
        "Q10": person(
            photos,
            "Q10",
            "Laura Bush",
            lfw("Laura_Bush", 2),
            [
                ("depicts", "Laura 3.jpg", lfw("Laura_Bush", 3)),
                ("category", "Hanks 2.jpg", lfw("Tom_Hanks", 2)),
                ("category", "Rumsfeld 2.jpg", lfw("Donald_Rumsfeld", 2)),
                ("category", "Aniston 3.jpg", lfw("Jennifer_Aniston", 3)),
            ],
        ),
        # an old catalog entry: no images, the top-level credit describes the photo
        "Q8": {"name": "Bill Gates", "author": "Old Author", "license": "CC BY 2.0", "file": "File:Gates.jpg"},
    }
    (photos / "Q8.jpg").symlink_to(lfw("Bill_Gates", 1))
    # no catalog entry, as in LFW: a group photo among a person's photos, and one photo alone
    (photos / "Hugo_Chavez").mkdir()
    for number in (33, 2, 3):
        (photos / "Hugo_Chavez" / f"{number}.jpg").symlink_to(lfw("Hugo_Chavez", number))
    (photos / "Pete_Sampras.jpg").symlink_to(lfw(*TENNIS))
    (photos / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False))
    return photos


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    """(photos, assets, report, celebrities.jsonl's records by key) of the module's build."""
    from lookalike.builder import build as builder

    root = tmp_path_factory.mktemp("several")
    photos = make_photos(root)
    report = builder.build(photos, root / "assets", workers=2, jitters=1, thumb_size=THUMB_SIZE, progress=False)
    return photos, root / "assets", report, {record["key"]: record for record in records(root / "assets")}


def faces(face_model, photo: Path) -> dict[tuple[int, int, int, int], np.ndarray]:
    """Every face of ``photo`` by its box, as the build analyses it (1 jitter)."""
    from lookalike.engine.face_workers import faces_in_photo

    found = faces_in_photo(face_model, photo.read_bytes(), jitters=1, photo_pixels=False).faces
    return {face.box: face.embedding for face in found}


def main_face(face_model, photo: Path) -> np.ndarray:
    from lookalike.engine.face_workers import faces_in_photo

    [face] = faces_in_photo(face_model, photo.read_bytes(), jitters=1, main_face=True).faces
    return face.embedding


def vector_of(assets: Path, key: str) -> np.ndarray:
    row = next(i for i, record in enumerate(records(assets)) if record["key"] == key)
    return np.load(assets / "embeddings.npy")[row]


def thumbnail_face(face_model, assets: Path, key: str) -> np.ndarray:
    """The main face of ``key``'s thumbnail: the face a viewer takes for the person named."""
    row = next(i for i, record in enumerate(records(assets)) if record["key"] == key)
    return main_face(face_model, assets_layout.thumbnail_path(assets, row))


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


# ---------------------------------------------------------------- group photos


def test_a_group_photo_gives_the_person_s_own_face_never_the_main_one(gallery, face_model):
    """Koizumi's P18 is a photo of Bush and Koizumi where Bush's face is the larger and the
    central one: Koizumi's is taken for Koizumi, Bush's for Bush, from the same file."""
    photos, assets, report, records = gallery
    group = faces(face_model, lfw(*GROUP))
    koizumi = group[KOIZUMI_BOX]
    [bush] = [vector for box, vector in group.items() if box != KOIZUMI_BOX]
    assert main_face(face_model, lfw(*GROUP)) == pytest.approx(bush)  # the main-face rule would take Bush's

    own = [main_face(face_model, lfw("Junichiro_Koizumi", n)) for n in (1, 2)]
    np.testing.assert_allclose(vector_of(assets, "Q1"), np.mean([koizumi, *own], axis=0), atol=1e-6)
    bushes = [main_face(face_model, lfw("George_W_Bush", n)) for n in (1, 2)]
    np.testing.assert_allclose(vector_of(assets, "Q2"), np.mean([bush, *bushes], axis=0), atol=1e-6)
    assert records["Q1"]["photos"] == records["Q2"]["photos"] == 3
    assert "Q1.jpg" not in report.rejected_photos and "Q2.jpg" not in report.rejected_photos


def test_each_thumbnail_of_one_group_photo_shows_its_own_person(gallery, face_model):
    """Both P18s are the same file (one SHA-256): each thumbnail is framed on the face chosen
    for its person, so the cache keeps one thumbnail a face, not one a photo."""
    _, assets, _, records = gallery
    koizumi = main_face(face_model, lfw("Junichiro_Koizumi", 1))
    bush = main_face(face_model, lfw("George_W_Bush", 1))
    shown_koizumi, shown_bush = thumbnail_face(face_model, assets, "Q1"), thumbnail_face(face_model, assets, "Q2")
    assert distance(shown_koizumi, koizumi) < 0.6 < distance(shown_koizumi, bush)
    assert distance(shown_bush, bush) < 0.6 < distance(shown_bush, koizumi)
    assert records["Q1"]["author"] == "P18 author of Q1" and records["Q2"]["author"] == "P18 author of Q2"


def test_a_wrong_file_is_dropped_and_a_group_photo_gives_the_larger_face_when_it_is_the_person_s(gallery, face_model):
    """Agassi's category holds a photo of Obama and Biden (no face agrees: "disagrees") and one
    of Sampras and Agassi where Sampras is the main face: Agassi's face is taken from it."""
    photos, assets, report, records = gallery
    wrong = f"Q4/{commons_name('Obama and Biden.jpg')}"
    tennis = f"Q4/{commons_name('Sampras and Agassi.jpg')}"
    assert report.rejected_photos[wrong] == "disagrees"
    assert tennis not in report.rejected_photos and records["Q4"]["photos"] == 4
    agassi = faces(face_model, lfw(*TENNIS))[AGASSI_BOX]
    own = [main_face(face_model, lfw("Andre_Agassi", n)) for n in (1, 2, 3)]
    np.testing.assert_allclose(vector_of(assets, "Q4"), np.mean([*own, agassi], axis=0), atol=1e-6)


def test_a_photo_where_two_faces_agree_is_rejected_not_guessed(gallery):
    _, _, report, records = gallery
    assert report.rejected_photos[f"Q5/{commons_name('Putin twice.jpg')}"] == "ambiguous_match"
    assert records["Q5"]["photos"] == 3


# ---------------------------------------------------------------- the P18 anchor


def test_a_p18_that_disagrees_with_four_real_photos_loses_and_is_not_shown_or_credited(gallery, face_model):
    """Lula's P18 is another person's photo (as a painting or a wrong file would be): the real
    photos outvote it, and still anchor the group photo where Chavez is the main face (the
    main-face rule, the fallback when nothing agrees, would lose it); the thumbnail is the
    kept photo with the largest face (Lula 2) and celebrities.jsonl credits that photo alone."""
    _, assets, report, records = gallery
    assert report.rejected_photos["Q3.jpg"] == "disagrees"
    lula = records["Q3"]
    assert lula["photos"] == 5
    real = [main_face(face_model, lfw("Luiz_Inacio_Lula_da_Silva", n)) for n in (1, 2, 3, 5)]
    summit = faces(face_model, lfw(*SUMMIT))[LULA_BOX]
    np.testing.assert_allclose(vector_of(assets, "Q3"), np.mean([*real, summit], axis=0), atol=1e-6)
    shown = thumbnail_face(face_model, assets, "Q3")
    assert distance(shown, real[1]) < 0.2 and distance(shown, main_face(face_model, lfw(*STAND_IN))) > 0.6
    expected = credit("Lula 2.jpg", "Author 1")
    assert {field: lula.get(field) for field in expected} == expected
    assert "images" not in lula and "P18 author of Q3" not in json.dumps(lula)


def test_the_p18_wins_a_tie(gallery):
    """Aniston's P18 agrees with one photo, two photos of Chirac in her category with each
    other: the P18's pair is the person (two of four, half), Chirac's photos are dropped."""
    _, _, report, records = gallery
    assert records["Q6"]["photos"] == 2
    for title in ("Chirac 1.jpg", "Chirac 2.jpg"):
        assert report.rejected_photos[f"Q6/{commons_name(title)}"] == "disagrees"
    assert "Q6.jpg" not in report.rejected_photos


def test_a_p18_nothing_agrees_with_stands_alone(gallery):
    """Hanks's other two files are other people's, which agree with nothing: the P18, the
    editor's choice, is kept alone (as one photo a person is) rather than the celebrity lost."""
    _, _, report, records = gallery
    assert records["Q9"]["photos"] == 1 and records["Q9"]["author"] == "P18 author of Q9"
    for title in ("Rumsfeld.jpg", "Laura.jpg"):
        assert report.rejected_photos[f"Q9/{commons_name(title)}"] == "disagrees"


def test_the_p18_and_one_agreeing_photo_stand_among_strangers(gallery):
    """Laura Bush's P18 and one more photo of her agree, three files of three other people do
    not: two of five is under half, but with the P18 among them the two are the person."""
    _, _, report, records = gallery
    assert records["Q10"]["photos"] == 2 and "Q10.jpg" not in report.rejected_photos
    for title in ("Hanks 2.jpg", "Rumsfeld 2.jpg", "Aniston 3.jpg"):
        assert report.rejected_photos[f"Q10/{commons_name(title)}"] == "disagrees"


def test_a_credit_field_the_shown_photo_lacks_is_left_out(tmp_path):
    """The record's top-level fields are the P18's: when another photo is shown, a field its
    own entry does not have (license_url here) must not come from the P18."""
    from lookalike.builder.build import Entry, celebrity_record
    from lookalike.builder.catalog_images import CatalogImage
    from lookalike.builder.celebrity_photos import Celebrity

    shown = tmp_path / "Q3" / "a.jpg"
    celebrity = Celebrity(
        "Q3",
        "Lula",
        [tmp_path / "Q3.jpg", shown],
        {"name": "Lula", "author": "P18 author", "license": "CC BY 2.0", "license_url": "https://p18.example"},
        images={
            tmp_path / "Q3.jpg": CatalogImage("P18", {"author": "P18 author"}),
            shown: CatalogImage("depicts", {"author": "B", "license": "CC0"}),
        },
    )
    vectors = np.zeros((1, 128), np.float32)
    entry = Entry(celebrity, vectors[0], vectors, np.zeros(1, np.float32), shown, "0" * 64, (0, 0, 1, 1))
    assert celebrity_record(entry) == {"name": "Lula", "author": "B", "license": "CC0", "key": "Q3", "photos": 1}
    unlisted = Entry(
        celebrity, vectors[0], vectors, np.zeros(1, np.float32), tmp_path / "Q3" / "b.jpg", "0" * 64, (0, 0, 1, 1)
    )
    assert celebrity_record(unlisted) == {"name": "Lula", "key": "Q3", "photos": 1}  # no entry: no credit at all


# ---------------------------------------------------------------- as before


def test_an_old_catalog_and_one_photo_a_person_read_as_before(gallery, face_model):
    _, assets, _, records = gallery
    assert records["Q8"] == {
        "name": "Bill Gates",
        "author": "Old Author",
        "license": "CC BY 2.0",
        "file": "File:Gates.jpg",
        "key": "Q8",
        "photos": 1,
    }
    ryder = records["Q7"]
    assert ryder["author"] == "P18 author of Q7" and ryder["photos"] == 1 and "images" not in ryder
    np.testing.assert_allclose(vector_of(assets, "Q7"), main_face(face_model, lfw("Winona_Ryder", 1)), atol=1e-6)


def test_without_a_catalog_the_faces_are_the_main_faces_as_before(gallery, face_model):
    """A folder without a catalog, as LFW: a group photo whose main face is the person's gives
    that face, and one photo alone keeps the main-face rule even where its largest face is
    another's (Pete_Sampras.jpg: Agassi's is larger)."""
    photos, assets, _, records = gallery
    chavez = [main_face(face_model, photos / "Hugo_Chavez" / f"{n}.jpg") for n in (33, 2, 3)]
    np.testing.assert_allclose(vector_of(assets, "Hugo_Chavez"), np.mean(chavez, axis=0), atol=1e-6)
    assert records["Hugo_Chavez"]["photos"] == 3
    sampras = main_face(face_model, lfw(*TENNIS))
    np.testing.assert_allclose(vector_of(assets, "Pete_Sampras"), sampras, atol=1e-6)
    assert distance(sampras, faces(face_model, lfw(*TENNIS))[AGASSI_BOX]) > 0.6


# ---------------------------------------------------------------- the report


def test_build_json_counts_the_new_rejections_and_names_each_reason(gallery):
    from lookalike.builder.build import REASONS

    _, assets, report, _ = gallery
    assert report.rejected == {"disagrees": 9, "ambiguous_match": 1}  # 5 of them Hanks's and Laura Bush's strangers
    assert report.p18_rejected == 1  # Lula's
    assert report.group_photos_kept == 6  # Koizumi's and Bush's P18, both tennis photos, both Chavez summits
    written = json.loads((assets / "build.json").read_text())
    assert written["rejected"] == report.rejected and written["rejected_photos"] == report.rejected_photos
    assert (written["p18_rejected"], written["group_photos_kept"]) == (1, 6)
    assert set(report.rejected) <= set(REASONS)  # rejected.jpg says each reason in words


def test_rejected_jpg_shows_the_new_rejections(gallery):
    from tests.builder.test_build import _difference, _tile

    photos, assets, report, _ = gallery
    sheet = Image.open(assets / "rejected.jpg")
    paths = list(report.rejected_photos)
    for number, path in enumerate(paths):
        differences = {other: _difference(_tile(sheet, number), photos / other) for other in paths}
        assert min(differences, key=differences.get) == path, differences


# ---------------------------------------------------------------- the cache


def test_a_cache_of_the_one_face_pipeline_is_analysed_again(tmp_path):
    """A cache written before every face was kept (pipeline 5's tables) does not stop the
    build: its rows are dropped and the photos analysed again."""
    from lookalike.builder import build as builder

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("Andre_Agassi", "Winona_Ryder", "Bill_Gates", "Hugo_Chavez"):
        (photos / f"{name}.jpg").symlink_to(lfw(name, 1))
    cache = tmp_path / "assets.cache.sqlite"
    with sqlite3.connect(cache) as old:
        old.executescript(
            """
            CREATE TABLE photos (
                sha256 TEXT NOT NULL, settings TEXT NOT NULL, status TEXT NOT NULL,
                faces INTEGER NOT NULL, box TEXT, eye_distance REAL, roll REAL, score REAL,
                embedding BLOB, detail TEXT, gender_score REAL, second_look INTEGER,
                PRIMARY KEY (sha256, settings));
            CREATE TABLE thumbnails (
                sha256 TEXT NOT NULL, settings TEXT NOT NULL, size INTEGER NOT NULL, jpeg BLOB NOT NULL,
                PRIMARY KEY (sha256, settings, size));
            INSERT INTO photos VALUES ('x', 'y', 'ok', 1, '[0, 0, 1, 1]', 40.0, 0.0, 1.0, NULL, '', 0.0, 0);
            """
        )
    old.close()
    report = builder.build(photos, tmp_path / "assets", workers=1, jitters=1, cache=cache, progress=False)
    assert (report.computed, report.cached, report.celebrities) == (4, 0, 4)
    with sqlite3.connect(cache) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert tables == {"analyses", "face_thumbnails"}
    again = builder.build(photos, tmp_path / "assets", workers=1, jitters=1, cache=cache, progress=False)
    assert (again.computed, again.cached) == (0, 4)


def test_every_face_of_a_photo_comes_back_from_the_cache(tmp_path, face_model):
    from lookalike.builder.photo_cache import PhotoCache
    from lookalike.builder.photo_faces import analyse_image

    result = analyse_image(face_model, lfw(*TENNIS).read_bytes(), jitters=1)
    assert len(result.faces) == 2 and result.main == 1  # Sampras, centred, though Agassi's face is larger
    with PhotoCache(tmp_path / "cache.sqlite", "settings") as cache:
        cache.put("sha", result)
        back = cache.get("sha")
    assert back is not None and (back.status, back.main, back.second_look) == ("ok", 1, False)
    for face, again in zip(result.faces, back.faces, strict=True):
        assert (again.box, again.eye_distance, again.roll, again.score, again.gender_score) == (
            face.box,
            face.eye_distance,
            face.roll,
            face.score,
            face.gender_score,
        )
        np.testing.assert_array_equal(again.embedding, face.embedding)


# ---------------------------------------------------------------- what the bot shows


def test_the_bot_credits_the_photo_it_shows_not_the_p18(gallery, monkeypatch):
    """Lula's P18 was rejected: the picture and a runner-up's caption (the playground shows
    the same) credit the photo the thumbnail comes from."""
    from lookalike.answering import pictures, replies
    from lookalike.answering.analysis import Analysis, FoundFace
    from lookalike.answering.build_reload import load_build
    from lookalike.engine.index import Match

    _, assets, _, _ = gallery
    loaded = load_build(assets)
    row = next(i for i in range(len(loaded)) if loaded.index.celebrity(i)["key"] == "Q3")
    runner_up = replies.runner_up(loaded, f"t:{loaded.version}:{row}:42", "en")
    assert runner_up is not None
    assert runner_up.credited.endswith("\nPhoto: Author 1, CC BY-SA 4.0")

    drawn = {}
    real = pictures.side_by_side
    monkeypatch.setattr(pictures, "side_by_side", lambda *a, **k: drawn.update(k) or real(*a, **k))
    face = FoundFace((0, 0, 100, 100), 40.0, np.zeros(128, np.float32), lfw("Andre_Agassi", 4).read_bytes())
    replies.one_face("en", Analysis([face]), [Match(row, "Lula", 0.4, 0.9)], loaded)
    assert drawn["credit"] == "Photo: Author 1, CC BY-SA 4.0"
