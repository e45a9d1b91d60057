"""The celebrity index: true distances, exact top-1, a faithful save/load, and calibrated percentiles."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from lookalike.assets_layout import CELEBRITIES_FILE, EMBEDDINGS_FILE, GENDERS_FILE, GRAPH_FILE, META_FILE
from lookalike.engine.calibration import Calibration, CalibrationPhotos, fit_calibration
from lookalike.engine.hnsw import HnswParameters
from lookalike.engine.index import CelebrityIndex, Match
from lookalike.engine.index_files import IndexFormatError
from tests.support.vectors import faces

CALIBRATION = Calibration(mean=0.6, std=0.1)


def names(count: int) -> list[dict]:
    return [{"name": f"Person {i}", "born": 1900 + i % 100} for i in range(count)]


def brute_force(gallery: np.ndarray, query: np.ndarray) -> np.ndarray:
    return np.linalg.norm(gallery.astype(np.float64) - query, axis=1)


@pytest.fixture(scope="module")
def gallery() -> np.ndarray:
    return faces(2000, seed=1)


@pytest.fixture(scope="module")
def index(gallery) -> CelebrityIndex:
    return CelebrityIndex.build(gallery, names(len(gallery)), CALIBRATION)


@pytest.fixture(scope="module")
def queries(gallery) -> np.ndarray:
    """Half near some celebrity (a look-alike), half anywhere in the cloud."""
    rng = np.random.default_rng(2)
    near = gallery[rng.choice(len(gallery), 100)] + rng.normal(scale=0.02, size=(100, 128))
    return np.vstack([near, faces(100, seed=3)]).astype(np.float32)


def test_distances_are_true_euclidean_and_sorted(index, gallery, queries):
    for query, matches in zip(queries, index.query(queries, k=5)):
        distances = [match.distance for match in matches]
        assert distances == sorted(distances)
        for match in matches:
            assert match.distance == pytest.approx(np.linalg.norm(gallery[match.id] - query), abs=1e-5)
            assert match.name == f"Person {match.id}"
            assert match.similarity == pytest.approx(CALIBRATION.similarity(match.distance))


def test_top1_equals_exact_search(index, gallery, queries):
    found = [matches[0].id for matches in index.query(queries, k=1)]
    exact = [int(np.argmin(brute_force(gallery, query))) for query in queries]
    assert found == exact


def test_single_vector_query_gives_one_list(index, gallery):
    [matches] = index.query(gallery[7], k=3)
    assert matches[0] == Match(id=7, name="Person 7", distance=0.0, similarity=pytest.approx(1.0))


@pytest.mark.parametrize("count, k", [(1, 3), (5, 10), (60, 60), (60, 1000)])
def test_k_beyond_a_small_gallery_returns_everyone_in_order(count, k):
    gallery = faces(count, seed=4)
    query = faces(1, seed=5)[0]
    [matches] = CelebrityIndex.build(gallery, names(count), CALIBRATION, parameters=HnswParameters(ef_search=10)).query(
        query, k=k
    )
    assert [match.id for match in matches] == list(np.argsort(brute_force(gallery, query), kind="stable"))


def test_save_and_load_give_identical_results(index, queries, tmp_path):
    index.save(tmp_path)
    loaded = CelebrityIndex.load(tmp_path)
    assert loaded.query(queries, k=10) == index.query(queries, k=10)
    assert loaded.calibration == index.calibration
    assert loaded.parameters == index.parameters
    assert loaded.celebrity(3) == {"name": "Person 3", "born": 1903}
    assert loaded.names == index.names and len(loaded) == len(index)


def test_metadata_survives_as_given(tmp_path):
    celebrities = [{"name": "Zoë Saldaña", "wiki": "Q1", "tags": ["actor"]}, {"name": "李连杰", "wiki": None}]
    CelebrityIndex.build(faces(2, seed=6), celebrities, CALIBRATION).save(tmp_path)
    loaded = CelebrityIndex.load(tmp_path)
    assert [loaded.celebrity(0), loaded.celebrity(1)] == celebrities


def test_records_are_saved_as_json_lines_one_a_celebrity_in_row_order(tmp_path):
    celebrities = [{"name": "Zoë Saldaña", "note": "a\nb"}, *names(3), {"name": "李连杰"}]
    CelebrityIndex.build(faces(5, seed=6), celebrities, CALIBRATION).save(tmp_path)
    lines = (tmp_path / CELEBRITIES_FILE).read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""  # each line ends with its newline
    assert [json.loads(line) for line in lines[:-1]] == celebrities


def test_a_load_parses_no_record_until_one_is_read(tmp_path, monkeypatch):
    """A million records parsed at load held the GIL for seconds beside the bot's answers
    (bench/million_bot.py): a load reads their text, an answer parses the few it names."""
    from lookalike.engine import celebrity_records

    CelebrityIndex.build(faces(300, seed=8), names(300), CALIBRATION).save(tmp_path)
    parsed = []
    real_loads = json.loads
    counting = SimpleNamespace(loads=lambda text: parsed.append(text) or real_loads(text), dumps=json.dumps)
    monkeypatch.setattr(celebrity_records, "json", counting)
    loaded = CelebrityIndex.load(tmp_path)
    assert parsed == []
    [matches] = loaded.query(faces(1, seed=9)[0], k=3)
    assert len(parsed) == 3  # the answer's three, not the ten candidates it was chosen among
    assert loaded.celebrity(7) == {"name": "Person 7", "born": 1907}
    assert [match.name for match in matches] == [f"Person {match.id}" for match in matches]


def test_a_record_read_is_a_new_dict_each_time(index):
    record = index.celebrity(3)
    record["name"] = "changed"
    assert index.celebrity(3)["name"] == "Person 3"


def test_records_of_another_build_are_refused_by_their_checksum(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir(), theirs.mkdir()
    CelebrityIndex.build(faces(50, seed=9), names(50), CALIBRATION).save(ours)
    CelebrityIndex.build(faces(50, seed=9), [{"name": f"Other {i}"} for i in range(50)], CALIBRATION).save(theirs)
    (ours / CELEBRITIES_FILE).write_bytes((theirs / CELEBRITIES_FILE).read_bytes())
    with pytest.raises(IndexFormatError, match="another build's records"):
        CelebrityIndex.load(ours)


@pytest.mark.parametrize(
    "text, count, problem",
    [
        (b'{"name": "A"}\n{"name": "B"}\n', 3, "2 records, expected 3"),
        (b'{"name": "A"}\n{"name": "B"}', 2, "cut short"),
    ],
)
def test_records_text_of_another_count_or_cut_short_is_refused(text, count, problem):
    from lookalike.engine.celebrity_records import CelebrityRecords, RecordsError

    with pytest.raises(RecordsError, match=problem):
        CelebrityRecords.parse(text, count)


def test_an_index_of_an_older_format_is_refused_in_one_line_that_says_rebuild(tmp_path):
    CelebrityIndex.build(faces(20, seed=9), names(20), CALIBRATION).save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))
    (tmp_path / META_FILE).write_text(json.dumps({**meta, "format_version": 3}), encoding="utf-8")
    with pytest.raises(IndexFormatError) as refused:
        CelebrityIndex.load(tmp_path)
    assert "\n" not in str(refused.value)
    assert "format 3" in str(refused.value) and "rebuild it with build_embeddings.py" in str(refused.value)


def test_thumbnails_live_beside_a_saved_index(index, tmp_path):
    assert CelebrityIndex.build(faces(3, seed=7), names(3), CALIBRATION).thumbnail_path(0) is None
    index.save(tmp_path)
    assert CelebrityIndex.load(tmp_path).thumbnail_path(12) == tmp_path / "thumbs" / "12.jpg"
    with pytest.raises(IndexError):
        index.thumbnail_path(len(index))


@pytest.mark.parametrize(
    "distance, expected",
    [
        (0.6, 0.5),  # at the mean half of all people are further away
        (0.7, 0.15865525393145707),  # one std further: 1 - Phi(1)
        (0.5, 0.8413447460685429),  # one std nearer: Phi(1)
        (0.8, 0.022750131948179195),  # 1 - Phi(2)
        (0.9, 0.01),  # 1 - Phi(3) = 0.00135 is clamped to the floor
        (0.0, 1.0 - 9.865876450376946e-10),  # 1 - Phi(-6)
    ],
)
def test_similarity_is_the_share_of_people_further_away(distance, expected):
    assert CALIBRATION.similarity(distance) == pytest.approx(expected, rel=1e-12)


def test_similarity_is_vectorised_and_clamped():
    calibration = Calibration(mean=0.6, std=0.1, min_similarity=0.05)
    similarities = calibration.similarity(np.array([[-5.0, 0.6], [0.8, 5.0]]))
    assert similarities.shape == (2, 2)
    np.testing.assert_allclose(similarities, [[1.0, 0.5], [0.05, 0.05]])


@pytest.mark.parametrize("exact_limit", [10**9, 0], ids=["exact", "graph"])
def test_calibration_fits_the_nearest_other_celebrity(exact_limit):
    """A plain index (no ranking) calibrates on the plain distance to the nearest other celebrity."""
    axis = np.zeros(128, dtype=np.float32)
    axis[0] = 1.0
    gallery = np.outer([0.0, 1.0, 3.0], axis)  # three celebrities at x = 0, 1, 3
    samples = np.outer([0.1, 2.9, 1.2, 0.4], axis)
    owners = np.array([0, 2, -1, 1])
    # 0.1 (own 0): 1 is nearest other at 0.9; 2.9 (own 2): 1 at 1.9;
    # 1.2 (nobody's): 1 at 0.2; 0.4 (own 1, but 0 is nearer): 0 at 0.4.
    others = np.array([0.9, 1.9, 0.2, 0.4])
    photos = CalibrationPhotos(samples, owners, min_similarity=0.02, exact_limit=exact_limit)
    index = CelebrityIndex.build(gallery, names(3), photos)
    calibration = index.calibration
    assert calibration == fit_calibration(index.graph_parts, photos)
    assert calibration.mean == pytest.approx(0.85)
    assert calibration.std == pytest.approx(math.sqrt(1.73 / 3)) == pytest.approx(others.std(ddof=1))
    assert calibration.min_similarity == 0.02


def test_bad_input_is_refused(index):
    with pytest.raises(ValueError):
        CelebrityIndex.build(faces(3, seed=8), names(2), CALIBRATION)
    with pytest.raises(ValueError):
        index.query(np.zeros((2, 64), dtype=np.float32))
    with pytest.raises(ValueError):
        Calibration(mean=0.6, std=0.0)


def _truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def _garble(path):
    path.write_text("{not json", encoding="utf-8")


def _drop_a_celebrity(path):
    path.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]), encoding="utf-8")


def _future_version(path):
    meta = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**meta, "format_version": 99}), encoding="utf-8")


def _fewer_vectors(path):
    np.save(path, np.load(path)[:-1])


def _cut_in_the_last_vector(path):
    path.write_bytes(path.read_bytes()[:-10])


@pytest.mark.parametrize(
    "name, damage",
    [
        (META_FILE, lambda path: path.unlink()),
        (EMBEDDINGS_FILE, lambda path: path.unlink()),
        (CELEBRITIES_FILE, lambda path: path.unlink()),
        (GRAPH_FILE, lambda path: path.unlink()),
        (GRAPH_FILE, _truncate),
        (EMBEDDINGS_FILE, _truncate),
        (META_FILE, _garble),
        (CELEBRITIES_FILE, _garble),
        (CELEBRITIES_FILE, _drop_a_celebrity),
        (GENDERS_FILE, lambda path: path.unlink()),
        (GENDERS_FILE, _fewer_vectors),
        (META_FILE, _future_version),
        (EMBEDDINGS_FILE, _fewer_vectors),
        (EMBEDDINGS_FILE, _cut_in_the_last_vector),
    ],
)
def test_damaged_directory_raises_a_format_error(tmp_path, name, damage):
    CelebrityIndex.build(faces(50, seed=9), names(50), CALIBRATION).save(tmp_path)
    damage(tmp_path / name)
    with pytest.raises(IndexFormatError):
        CelebrityIndex.load(tmp_path)


def test_missing_directory_raises_a_format_error(tmp_path):
    with pytest.raises(IndexFormatError):
        CelebrityIndex.load(tmp_path / "nowhere")


def _swap_in_a_graph_from(tmp_path, count: int, seed: int):
    """A sound index of 50 whose graph file is then replaced by one built for other vectors."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir(), theirs.mkdir()
    CelebrityIndex.build(faces(50, seed=9), names(50), CALIBRATION).save(ours)
    CelebrityIndex.build(faces(count, seed=seed), names(count), CALIBRATION).save(theirs)
    (ours / GRAPH_FILE).write_bytes((theirs / GRAPH_FILE).read_bytes())
    return ours


def test_a_graph_from_a_build_of_another_size_raises_a_format_error(tmp_path):
    directory = _swap_in_a_graph_from(tmp_path, 49, seed=9)  # 49 of the same 50 vectors
    with pytest.raises(IndexFormatError, match="bytes, but index.json says"):
        CelebrityIndex.load(directory)


def test_a_graph_over_other_vectors_raises_a_format_error(tmp_path):
    """Same count; its size recorded as if it belonged, so only the search can tell."""
    directory = _swap_in_a_graph_from(tmp_path, 50, seed=10)
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    meta["graph_bytes"][GRAPH_FILE] = (directory / GRAPH_FILE).stat().st_size
    (directory / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="doesn't match the embeddings"):
        CelebrityIndex.load(directory)
