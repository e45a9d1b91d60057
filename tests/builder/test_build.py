"""The builder on real LFW photos: filters, consensus, cache, atomic output, thumbnails.

One assets directory is built per session (2 workers, 1 jitter, 27 people) and its cache is
shared: every later build copies that cache, so it analyses only what is new.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike import assets_layout
from tests.support.assets import records
from tests.support.data import LFW, ROOT, SAMPLES, require

FOLDER_PEOPLE = [  # <Name>/ with photos 1-3; photo 4 is held out of the gallery
    "Abdullah", "Abel_Pacheco", "Adam_Sandler", "Ahmed_Chalabi", "Alastair_Campbell", "Albert_Costa",
    "Aleksander_Kwasniewski", "Alexander_Losyukov", "Allyson_Felix", "Amanda_Bynes", "Amelia_Vega",
    "Ana_Guevara", "Anders_Fogh_Rasmussen", "Andre_Agassi", "Andy_Roddick", "Angela_Merkel",
    "Ann_Veneman", "Anna_Kournikova", "Antonio_Palocci", "Antony_Leung", "Arnoldo_Aleman", "Art_Howe",
    "Atal_Bihari_Vajpayee", "Ben_Howland",
]  # fmt: skip
SINGLE_PEOPLE = ["Bill_Gates", "Britney_Spears", "Cate_Blanchett"]  # <Name>.jpg
INTRUDER = ("Angela_Merkel", "Charlton_Heston", 1)  # into Angela_Merkel/, a photo of someone else
THUMB_SIZE = 64
CATALOG = {
    "Adam_Sandler": {
        "name": "Adam Richard Sandler",
        "link": "https://en.wikipedia.org/wiki/Adam_Sandler",
        "born": 1966,
    },
    "Bill_Gates": {"link": "https://en.wikipedia.org/wiki/Bill_Gates"},
}


def lfw(person: str, number: int) -> Path:
    return require(LFW / person / f"{person}_{number:04d}.jpg")


def make_photos(root: Path) -> Path:
    """The test photo folder: both layouts, a catalog, an intruder, dogs and a text file posing as a JPEG."""
    photos = root / "photos"
    photos.mkdir()
    for person in FOLDER_PEOPLE:
        (photos / person).mkdir()
        for number in (1, 2, 3):
            (photos / person / f"{person}_{number:04d}.jpg").symlink_to(lfw(person, number))
    for person in SINGLE_PEOPLE:
        (photos / f"{person}.jpg").symlink_to(lfw(person, 1))
    owner, stranger, number = INTRUDER
    (photos / owner / "intruder.jpg").symlink_to(lfw(stranger, number))
    (photos / "Abel_Pacheco" / "dogs.jpg").symlink_to(require(SAMPLES / "dlib_faces" / "dogs.jpg"))
    (photos / "Abel_Pacheco" / "notes.jpg").write_text("not a photo at all\n")
    (photos / "catalog.json").write_text(json.dumps(CATALOG))
    return photos


PHOTO_COUNT = len(FOLDER_PEOPLE) * 3 + len(SINGLE_PEOPLE) + 3


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """(photos dir, output dir, cache path, report) of the session's one full build."""
    from lookalike.builder import build as builder

    root = tmp_path_factory.mktemp("gallery")
    photos = make_photos(root)
    out = root / "assets"
    report = builder.build(photos, out, workers=2, jitters=1, thumb_size=THUMB_SIZE)
    return photos, out, builder.default_cache_path(out), report


@pytest.fixture
def copy_of(built, tmp_path):
    """A private copy of the session's photos, output and cache, to change freely."""
    photos, out, cache, _ = built
    shutil.copytree(photos, tmp_path / "photos", symlinks=True)
    shutil.copytree(out, tmp_path / "assets")
    shutil.copy(cache, tmp_path / "assets.cache.sqlite")
    return tmp_path / "photos", tmp_path / "assets", tmp_path / "assets.cache.sqlite"


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def leftovers(out: Path) -> list[Path]:
    return [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


# ---------------------------------------------------------------- the session's build


def test_report_counts_every_photo_and_reason(built):
    _, out, _, report = built
    assert report.photos == PHOTO_COUNT
    assert (report.computed, report.cached) == (PHOTO_COUNT, 0)
    assert report.celebrities == len(FOLDER_PEOPLE) + len(SINGLE_PEOPLE)
    assert report.rejected == {"unreadable": 1, "no_face": 1, "disagrees": 1}
    assert report.rejected_photos == {
        "Abel_Pacheco/notes.jpg": "unreadable",
        "Abel_Pacheco/dogs.jpg": "no_face",
        "Angela_Merkel/intruder.jpg": "disagrees",
    }
    assert report.kept == PHOTO_COUNT - 3
    assert report.celebrities_skipped == []
    assert json.loads((out / "build.json").read_text())["rejected"] == report.rejected


def _tile(sheet: Image.Image, number: int) -> np.ndarray:
    from lookalike.builder import contact_sheet as cs

    x = cs.GAP + (number % cs.COLUMNS) * (cs.TILE + cs.GAP)
    y = cs.HEADER + (number // cs.COLUMNS) * (cs.TILE + cs.LABEL + cs.GAP)
    return np.asarray(sheet.crop((x, y, x + cs.TILE, y + cs.TILE)).convert("L"), dtype=np.float32)


def _difference(tile: np.ndarray, path: Path) -> float:
    """Mean grey-level difference between a tile and ``path`` fitted into it as the sheet fits it."""
    from lookalike.builder import contact_sheet as cs

    image = Image.open(path).convert("L")
    image.thumbnail((cs.TILE, cs.TILE))
    x, y = (cs.TILE - image.width) // 2, (cs.TILE - image.height) // 2
    shown = tile[y : y + image.height, x : x + image.width]
    return float(np.abs(shown - np.asarray(image, dtype=np.float32)).mean())


def test_contact_sheets_show_each_rejected_photo_and_each_celebrity(built):
    """rejected.jpg shows the rejected photos in build.json's order (an unreadable one as an
    empty square), gallery.jpg each celebrity's thumbnail: a tile is its photo, not another."""
    photos, out, _, report = built
    rejected = Image.open(out / "rejected.jpg")
    readable = [path for path, reason in report.rejected_photos.items() if reason != "unreadable"]
    for number, (path, reason) in enumerate(report.rejected_photos.items()):
        tile = _tile(rejected, number)
        if reason == "unreadable":
            assert tile[2:-2, 2:-2].mean() > 250, path  # nothing drawn inside its outline
            continue
        differences = {other: _difference(tile, photos / other) for other in readable}
        assert min(differences, key=differences.get) == path and differences[path] < 12, differences
    sheet = Image.open(out / "gallery.jpg")
    thumbs = sorted((out / assets_layout.THUMBS_DIR).glob("*.jpg"), key=lambda p: int(p.stem))
    assert len(thumbs) == report.celebrities
    for number in (0, 7, len(thumbs) - 1):
        tile = _tile(sheet, number)
        assert _difference(tile, thumbs[number]) < 12
        assert _difference(tile, thumbs[number - 1]) > 20  # another celebrity's face differs


def test_held_out_photos_find_their_owner(built, face_model):
    from lookalike.engine.face_workers import faces_in_photo
    from lookalike.engine.index import CelebrityIndex

    index = CelebrityIndex.load(built[1])
    names = index.names
    for person in FOLDER_PEOPLE:
        [face] = faces_in_photo(face_model, lfw(person, 4).read_bytes(), jitters=1).faces
        best = index.query(face.embedding, k=3)[0][0]
        owner = "Adam Richard Sandler" if person == "Adam_Sandler" else person.replace("_", " ")
        assert best.name == owner, (person, best)
        assert best.similarity > 0.9 and best.distance < 0.6, (person, best)  # 0.6: dlib's same-person rule
    assert len(set(names)) == len(names)


def test_model_py_prints_one_json_line_per_face_with_true_distances(built, face_model, tmp_path):
    """The look-up anyone can run without Telegram: python model.py PHOTO ... --assets DIR --top K."""
    from lookalike.engine.face_workers import faces_in_photo

    out = built[1]
    selfie = lfw("Andre_Agassi", 4)
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("not a photo\n")
    photos = [selfie, SAMPLES / "face_recognition" / "two_people.jpg", SAMPLES / "dlib_faces" / "dogs.jpg", not_a_photo]
    command = [sys.executable, str(ROOT / "model.py"), *map(str, photos), "--assets", str(out), "--top", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in result.stdout.splitlines()]

    assert result.returncode == 1, result.stderr  # notes.jpg could not be read; the dogs have no face
    assert [line["photo"] for line in lines] == [
        str(p) for p in (photos[0], photos[1], photos[1], photos[2], photos[3])
    ]
    first = lines[0]
    assert len(first["box"]) == 4 and all(isinstance(v, int) for v in first["box"])
    assert [m["name"] for m in first["matches"]][0] == "Andre Agassi" and len(first["matches"]) == 2
    [face] = faces_in_photo(face_model, selfie.read_bytes()).faces
    vectors = np.load(out / "embeddings.npy")
    names = records(out)
    for match in first["matches"]:
        row = next(i for i, c in enumerate(names) if c["name"] == match["name"])
        assert match["distance"] == pytest.approx(np.linalg.norm(vectors[row] - face.embedding), abs=1e-5)
        assert 0.0 <= match["similarity"] <= 1.0
    assert first["matches"][0]["distance"] < first["matches"][1]["distance"]
    assert lines[3] == {"photo": str(photos[2]), "error": "no face found"}
    assert lines[4]["error"] == "the file is not an image"


def test_model_py_without_a_usable_index_says_so_in_one_line(tmp_path):
    """No traceback and no log noise: one line naming the problem, exit status 2."""
    selfie = lfw("Andre_Agassi", 4)
    command = [sys.executable, str(ROOT / "model.py"), str(selfie), "--assets", str(tmp_path / "nowhere")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("model.py: error: ") and "nowhere" in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_model_py_exit_status_says_whether_every_photo_was_read(built, tmp_path):
    """0 when every photo was read, faces or not; 1 for a missing photo, with its line."""
    out = built[1]
    base = [sys.executable, str(ROOT / "model.py"), "--assets", str(out), "--top", "1"]
    read = subprocess.run(
        [*base, str(lfw("Andre_Agassi", 4)), str(SAMPLES / "dlib_faces" / "dogs.jpg")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert read.returncode == 0, read.stderr
    missing = subprocess.run([*base, str(tmp_path / "missing.jpg")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1
    [line] = [json.loads(line) for line in missing.stdout.splitlines()]
    assert line["photo"] == str(tmp_path / "missing.jpg") and "No such file" in line["error"]
    assert "missing.jpg" in missing.stderr


def test_model_py_without_an_index_says_to_build_one(tmp_path):
    selfie = lfw("Andre_Agassi", 4)
    command = [sys.executable, str(ROOT / "model.py"), str(selfie), "--assets", str(tmp_path / "assets")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert "build_embeddings.py PHOTOS_DIR --out" in result.stderr and str(tmp_path / "assets") in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_display_names_have_spaces_and_the_catalog_wins(built):
    from lookalike.engine.index import CelebrityIndex

    names = CelebrityIndex.load(built[1]).names
    assert "Adam Richard Sandler" in names and "Abel Pacheco" in names and "Bill Gates" in names
    assert "Atal Bihari Vajpayee" in names
    assert not any("_" in name for name in names)


def test_catalog_fields_reach_celebrities_jsonl(built):
    celebrities = records(built[1])
    by_key = {celebrity["key"]: celebrity for celebrity in celebrities}
    assert by_key["Adam_Sandler"] == {
        "name": "Adam Richard Sandler",
        "link": "https://en.wikipedia.org/wiki/Adam_Sandler",
        "born": 1966,
        "key": "Adam_Sandler",
        "photos": 3,
    }
    assert by_key["Bill_Gates"]["link"] == "https://en.wikipedia.org/wiki/Bill_Gates"
    assert by_key["Bill_Gates"]["name"] == "Bill Gates" and by_key["Bill_Gates"]["photos"] == 1
    assert by_key["Angela_Merkel"]["photos"] == 3  # the intruder is not counted
    assert by_key["Abel_Pacheco"]["photos"] == 3


def test_thumbnails_are_square_jpegs_of_the_right_size(built):
    from lookalike.engine.index import CelebrityIndex

    index = CelebrityIndex.load(built[1])
    for i in range(len(index)):
        with Image.open(index.thumbnail_path(i)) as thumbnail:
            assert thumbnail.format == "JPEG" and thumbnail.size == (THUMB_SIZE, THUMB_SIZE)
            thumbnail.load()
    assert len(list((built[1] / assets_layout.THUMBS_DIR).iterdir())) == len(index)


def test_celebrity_vectors_are_the_mean_of_the_kept_photos(built, face_model):
    from lookalike.engine.face_workers import faces_in_photo
    from lookalike.engine.index import CelebrityIndex

    index = CelebrityIndex.load(built[1])
    row = index.names.index("Angela Merkel")
    faces = [faces_in_photo(face_model, lfw("Angela_Merkel", n).read_bytes()).faces[0].embedding for n in (1, 2, 3)]
    vectors = np.load(built[1] / "embeddings.npy")
    np.testing.assert_allclose(vectors[row], np.mean(faces, axis=0), atol=1e-5)


# ---------------------------------------------------------------- the cache


def test_a_second_run_analyses_nothing_and_a_new_photo_alone(copy_of):
    from lookalike.builder import build as builder

    photos, out, cache = copy_of
    before = np.load(out / "embeddings.npy")
    again = builder.build(photos, out, workers=2, jitters=1, thumb_size=THUMB_SIZE, cache=cache)
    assert (again.computed, again.cached) == (0, PHOTO_COUNT)
    np.testing.assert_array_equal(np.load(out / "embeddings.npy"), before)

    (photos / "Adam_Sandler" / "Adam_Sandler_0004.jpg").symlink_to(lfw("Adam_Sandler", 4))
    import build_embeddings as command_line

    assert command_line.main([str(photos), "--out", str(out), "--workers", "2", "--jitters", "1"]) == 0
    report = json.loads((out / "build.json").read_text())
    assert (report["computed"], report["cached"]) == (1, PHOTO_COUNT)
    celebrities = records(out)
    assert next(c for c in celebrities if c["key"] == "Adam_Sandler")["photos"] == 4
    assert leftovers(out) == []


def test_the_photos_analyses_are_let_go_before_the_index_is_made(copy_of, monkeypatch):
    """A photo's analysis is ~1.6 KB (embedding, box, hash): at a million celebrities, GBs
    that make_index does not need beside its own peak."""
    import gc

    from lookalike.builder import build as builder
    from lookalike.builder.photo_analysis import Analysed

    photos, out, cache = copy_of
    make_index = builder.make_index
    alive = []

    def counting(entries, **parameters):
        gc.collect()
        alive.append(sum(isinstance(thing, Analysed) for thing in gc.get_objects()))
        return make_index(entries, **parameters)

    monkeypatch.setattr(builder, "make_index", counting)
    assert builder.build(photos, out, workers=1, jitters=1, thumb_size=THUMB_SIZE, cache=cache).cached == PHOTO_COUNT
    assert alive == [0]


def test_quality_thresholds_apply_to_cached_results(copy_of):
    """The cache holds the facts (eye distance, roll), so new thresholds need no new analysis."""
    from lookalike.builder import build as builder

    photos, out, cache = copy_of
    report = builder.build(photos, out, workers=1, jitters=1, cache=cache, min_eye_distance=41.0)
    assert report.computed == 0
    assert report.rejected["too_small"] > 10
    strict = builder.build(photos, out, workers=1, jitters=1, cache=cache, max_roll=2.0)
    assert strict.computed == 0 and strict.rejected["rolled"] > 10


def test_other_jitters_are_not_served_from_the_cache():
    from lookalike.builder.photo_cache import settings_key

    key_1, _ = settings_key(1)
    key_10, settings = settings_key(10)
    assert (
        key_1 != key_10
        and settings["jitters"] == 10
        and set(settings["models"]) == {"predictor", "recognizer", "gender"}
    )


# ---------------------------------------------------------------- atomic output


def test_a_build_failing_midway_leaves_the_previous_index(copy_of, monkeypatch):
    from lookalike.builder import build as builder
    from lookalike.engine.index import CelebrityIndex

    photos, out, cache = copy_of
    before = snapshot(out)
    real = builder.write_thumbnails

    def fail_halfway(directory, entries, photo_cache, size):
        real(directory, entries[:5], photo_cache, size)
        assert (directory / assets_layout.CELEBRITIES_FILE).exists()  # the new index is half written
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(builder, "write_thumbnails", fail_halfway)
    (photos / "Adam_Sandler").rename(photos / "Adam_Sandler_Renamed")  # the new build would differ
    with pytest.raises(RuntimeError, match="disk on fire"):
        builder.build(photos, out, workers=1, jitters=1, cache=cache, thumb_size=THUMB_SIZE)
    assert snapshot(out) == before
    assert leftovers(out) == []
    assert "Adam Richard Sandler" in CelebrityIndex.load(out).names


def test_a_build_with_too_few_celebrities_fails_clearly(tmp_path):
    from lookalike.builder import BuildError
    from lookalike.builder import build as builder

    photos = tmp_path / "photos"
    (photos / "Adam_Sandler").mkdir(parents=True)
    (photos / "Adam_Sandler" / "a.jpg").symlink_to(lfw("Adam_Sandler", 1))
    with pytest.raises(BuildError, match="at least 2"):
        builder.build(photos, tmp_path / "assets", workers=1, jitters=1)
    assert not (tmp_path / "assets").exists() and leftovers(tmp_path / "assets") == []


def test_too_few_usable_celebrities_fail_after_analysis(copy_of):
    from lookalike.builder import BuildError
    from lookalike.builder import build as builder

    photos, out, cache = copy_of
    for entry in photos.iterdir():
        if entry.name not in ("Abel_Pacheco", "catalog.json"):
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    (photos / "Dogs").mkdir()
    (photos / "Dogs" / "dogs.jpg").symlink_to(SAMPLES / "dlib_faces" / "dogs.jpg")
    before = snapshot(out)
    with pytest.raises(BuildError, match="only 1 celebrities"):
        builder.build(photos, out, workers=1, jitters=1, cache=cache)
    assert snapshot(out) == before and leftovers(out) == []


def test_swap_without_renameat2_falls_back_to_rename_aside(copy_of, monkeypatch):
    from lookalike.builder import build as builder
    from lookalike.builder import directory_swap
    from lookalike.engine.index import CelebrityIndex

    photos, out, cache = copy_of
    monkeypatch.setattr(directory_swap, "exchange_paths", lambda first, second: False)
    (photos / "Bill_Gates.jpg").unlink()
    report = builder.build(photos, out, workers=1, jitters=1, cache=cache)
    assert report.celebrities == len(FOLDER_PEOPLE) + len(SINGLE_PEOPLE) - 1
    assert "Bill Gates" not in CelebrityIndex.load(out).names
    assert leftovers(out) == []


def test_replace_directory_swaps_atomically_on_linux(tmp_path):
    from lookalike.builder.directory_swap import replace_directory

    old, new = tmp_path / "assets", tmp_path / "new"
    old.mkdir()
    (old / "version").write_text("old")
    new.mkdir()
    (new / "version").write_text("new")
    method = replace_directory(new, old)
    assert method == "exchange"  # renameat2(RENAME_EXCHANGE) works on this kernel and filesystem
    assert (old / "version").read_text() == "new" and not new.exists()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert replace_directory(fresh, tmp_path / "absent") == "rename"


# ---------------------------------------------------------------- pieces without the model


def fake_face(box: tuple[int, int, int, int]):
    from lookalike.engine.face_model import Face

    left, top, right, bottom = box
    w = right - left
    eyes = np.array([[left + 0.3 * w, top + 0.4 * w]] * 2 + [[left + 0.7 * w, top + 0.4 * w]] * 2 + [[left, top]])
    return Face(box=box, score=1.0, landmarks=eyes.astype(np.float32), embedding=np.zeros(128, np.float32))


def test_main_face_prefers_a_clearly_larger_face_then_the_centred_one():
    from lookalike.engine.face_workers import choose_main_face as main_face

    centred = fake_face((77, 89, 181, 192))  # where LFW puts its subject
    bystander = fake_face((0, 65, 89, 169))  # a slightly smaller face at the edge (Antonio_Banderas_0001)
    small = fake_face((200, 0, 240, 40))
    assert main_face([], 250, 250) is None
    assert main_face([small, centred], 250, 250) is centred
    assert main_face([bystander, centred], 250, 250) is centred
    left, right = fake_face((0, 60, 100, 160)), fake_face((150, 60, 250, 160))  # a couple, neither centred
    assert main_face([left, right], 250, 250) is None
    big_off_centre = fake_face((100, 0, 250, 150))
    assert main_face([big_off_centre, small], 250, 250) is big_off_centre


def test_consensus_keeps_the_agreeing_majority():
    from lookalike.builder.face_choice import consensus

    rng = np.random.default_rng(0)
    person = rng.normal(size=128)
    person *= 1 / np.linalg.norm(person)

    def photos_of(centre, n):
        return centre + rng.normal(scale=0.2 / np.sqrt(128), size=(n, 128))  # ~0.28 apart

    stranger = person + 0.9 * np.eye(128)[0]
    assert consensus(photos_of(person, 1)).tolist() == [True]
    assert consensus(photos_of(person, 2)).tolist() == [True, True]
    assert consensus(np.vstack([photos_of(person, 1), photos_of(stranger, 1)])).tolist() == [False, False]
    mixed = np.vstack([photos_of(person, 3), photos_of(stranger, 1), photos_of(person, 1)])
    assert consensus(mixed).tolist() == [True, True, True, False, True]
    scattered = np.vstack([photos_of(person + 0.9 * np.eye(128)[i], 1) for i in range(4)])
    assert not consensus(scattered).any()


def test_catalog_csv_and_discovery(tmp_path):
    from lookalike.builder import BuildError
    from lookalike.builder.celebrity_photos import discover

    (tmp_path / "Tom_Cruise").mkdir()
    (tmp_path / "Tom_Cruise" / "a.JPEG").write_bytes(b"x")
    (tmp_path / "Tom_Cruise" / "b.webp").write_bytes(b"x")
    (tmp_path / "Tom_Cruise" / "notes.txt").write_text("x")
    (tmp_path / "Tom_Cruise.png").write_bytes(b"x")
    (tmp_path / "Cher.jpg").write_bytes(b"x")
    (tmp_path / ".hidden.jpg").write_bytes(b"x")
    (tmp_path / "catalog.csv").write_text(
        "key,name,link,country\nCher,Cherilyn Sarkisian,https://example.org/cher,\nNobody,No One,,\n"
    )
    celebrities = discover(tmp_path)
    assert [(c.key, c.name, len(c.photos)) for c in celebrities] == [
        ("Cher", "Cherilyn Sarkisian", 1),
        ("Tom_Cruise", "Tom Cruise", 3),
    ]
    assert celebrities[0].record == {"name": "Cherilyn Sarkisian", "link": "https://example.org/cher"}
    (tmp_path / "catalog.json").write_text("{}")
    with pytest.raises(BuildError, match="two catalogs"):
        discover(tmp_path)
