"""The hub-aware ranking, the gender rule and the percentile under them (issue 9).

The vectors are spread like dlib's (test_index.faces); the rule is checked against a
brute-force scoring written here from the formula, not against the index's own code.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lookalike.assets_layout import GENDERS_FILE, META_FILE, RANKING_FILE
from lookalike.engine import calibration as calibration_module
from lookalike.engine import gender
from lookalike.engine import ranking as ranking_module
from lookalike.engine.calibration import Calibration, CalibrationPhotos, fit_calibration
from lookalike.engine.gender import GenderProbe, fit_probe
from lookalike.engine.index import CelebrityIndex
from lookalike.engine.ranking import first_photos, fit_ranking, within_spread
from tests.support.vectors import faces

CELEBRITIES = 600
GENDERS = ["female", "male", "", "Male "]  # "" is unknown; "Male " is male
ANY_CALIBRATION = Calibration(mean=0.6, std=0.1)  # for tests of which celebrities answer, not their percentages


@pytest.fixture(scope="module")
def gallery():
    """(celebrity vectors, photos, owners): 1 to 6 photos per celebrity around its face."""
    rng = np.random.default_rng(5)
    centres = faces(CELEBRITIES, seed=4).astype(np.float64)
    counts = rng.integers(1, 7, size=CELEBRITIES)
    owners = np.repeat(np.arange(CELEBRITIES), counts)
    photos = (centres[owners] + rng.normal(scale=0.03, size=(len(owners), 128))).astype(np.float32)
    vectors = np.stack([photos[owners == c].mean(axis=0) for c in range(CELEBRITIES)]).astype(np.float32)
    return vectors, photos, owners


@pytest.fixture(scope="module")
def celebrities(gallery):
    """Names, genders, and each one's vector (for the brute force below)."""
    vectors, _, _ = gallery
    return [
        {"name": f"Person {i}", "gender": GENDERS[i % 4], "vector": vectors[i].tolist()} for i in range(CELEBRITIES)
    ]


@pytest.fixture(scope="module")
def probe():
    """Male when the first coordinate is above the gallery's median: a probe everybody can check."""
    median = float(np.median(faces(CELEBRITIES, seed=4)[:, 0]))
    return GenderProbe(tuple([1.0] + [0.0] * 127), -median)


@pytest.fixture(scope="module")
def ranked(gallery, celebrities, probe):
    vectors, photos, owners = gallery
    ranking = fit_ranking(vectors, photos, owners, spread_weight=0.5, reach_neighbours=20, reach_weight=0.5)
    return CelebrityIndex.build(vectors, celebrities, CalibrationPhotos(photos, owners), ranking=ranking, probe=probe)


@pytest.fixture(scope="module")
def queries(gallery):
    vectors, _, _ = gallery
    rng = np.random.default_rng(6)
    near = vectors[rng.choice(len(vectors), 150)] + rng.normal(scale=0.05, size=(150, 128))
    return np.vstack([near, faces(150, seed=7)]).astype(np.float32)


def brute_force(index: CelebrityIndex, query: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    """The rule from its definition: |q - m_c|^2 + b_c, smallest first, among ``allowed``."""
    vectors = np.stack([index.celebrity(i)["vector"] for i in range(len(index))])
    scores = np.square(vectors - query.astype(np.float64)).sum(axis=1) + index.ranking.offsets
    scores[~allowed] = np.inf
    return np.argsort(scores, kind="stable")[:k].tolist()


# ---------------------------------------------------------------- the statistics


def test_spread_is_the_within_person_variance_about_the_true_mean():
    rng = np.random.default_rng(0)
    owners = np.repeat(np.arange(400), 5)
    photos = rng.normal(size=(400, 128))[owners] + rng.normal(scale=0.05, size=(2000, 128))
    assert within_spread(photos, owners) == pytest.approx(128 * 0.05**2, rel=0.03)
    assert within_spread(photos[::5], owners[::5]) == 0.0  # one photo each: nothing to measure


def test_reach_and_offsets_follow_their_definition(gallery):
    vectors, photos, owners = gallery
    ranking = fit_ranking(vectors, photos, owners, spread_weight=0.7, reach_neighbours=10, reach_weight=0.4)
    counts = np.bincount(owners)
    assert ranking.photos.tolist() == counts.tolist()
    penalty = 0.7 * ranking.spread * (1 - 1 / counts)
    first_three = np.arange(len(owners)) - np.searchsorted(owners, owners) < 3  # owners are sorted
    for c in (0, 1, 17, 598):
        reference = (owners % 2 == 0) & first_three & (owners != c)  # others' photos of the reference half
        squared = np.sort(np.square(photos[reference].astype(np.float64) - vectors[c]).sum(axis=1))
        assert ranking.reach[c] == pytest.approx(squared[:10].mean() + penalty[c], rel=1e-6)
    assert np.allclose(ranking.offsets, penalty - 0.4 * ranking.reach)
    lifts = ranking.lifts.astype(np.float64)
    assert np.allclose(lifts**2, ranking.offsets - ranking.offsets.min(), atol=1e-6) and lifts.min() == 0


def test_the_statistics_are_saved_with_the_index_and_loaded_unchanged(ranked, queries, tmp_path):
    ranked.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["ranking"] == ranked.ranking.parameters() and meta["ranking"]["spread"] > 0
    assert meta["gender_probe"]["bias"] == ranked.probe.bias
    with np.load(tmp_path / RANKING_FILE) as stored:
        assert stored["photos"].tolist() == ranked.ranking.photos.tolist()
        assert np.array_equal(stored["reach"], ranked.ranking.reach)
    loaded = CelebrityIndex.load(tmp_path)
    assert np.array_equal(loaded.ranking.offsets, ranked.ranking.offsets)
    assert loaded.probe == ranked.probe and loaded.calibration == ranked.calibration
    assert loaded.look_alikes(queries, k=3) == ranked.look_alikes(queries, k=3)


def test_the_files_keep_format_3s_names_and_fields_beside_format_4s_records(gallery, celebrities, ranked, tmp_path):
    """A graph per gender label (or one over everyone) under format 3's file names, and
    index.json's fields as format 3 has them, with format 4's checksum of the records (JSON
    Lines) and the gender codes the graphs are split by beside them."""
    (tmp_path / "gendered").mkdir()
    ranked.save(tmp_path / "gendered")
    meta = json.loads((tmp_path / "gendered" / META_FILE).read_text())
    graphs = {"hnsw.female.nmslib", "hnsw.male.nmslib", "hnsw.unknown.nmslib"}
    assert set(meta["graph_bytes"]) == graphs and graphs <= {p.name for p in (tmp_path / "gendered").iterdir()}
    assert list(meta) == [
        "format_version",
        "graph_bytes",
        "celebrities_sha256",
        "method",
        "space",
        "dimension",
        "count",
        "parameters",
        "calibration",
        "ranking",
        "gender_probe",
        "identity_rule",  # added within format 3: an index without it loads with no rule
    ]
    assert meta["format_version"] == 4 and list(meta["parameters"]) == ["M", "efConstruction", "efSearch"]
    genders = np.load(tmp_path / "gendered" / GENDERS_FILE)
    labels = [{"female": 0, "male": 1}.get(str(celebrity["gender"]).strip().lower(), -1) for celebrity in celebrities]
    assert genders.dtype == np.int8 and genders.tolist() == labels and set(labels) == {0, 1, -1}
    assert list(meta["calibration"]) == ["mean", "std", "min_similarity", "quantiles"]
    vectors, _, _ = gallery
    (tmp_path / "plain").mkdir()
    CelebrityIndex.build(vectors[:50], [{"name": str(i)} for i in range(50)], ANY_CALIBRATION).save(tmp_path / "plain")
    assert list(json.loads((tmp_path / "plain" / META_FILE).read_text())["graph_bytes"]) == ["hnsw.nmslib"]


def test_the_graph_reach_is_the_exact_one_within_the_fits_own_noise(gallery, queries, monkeypatch):
    """Past ``exact_limit`` pairs the reach comes from an HNSW graph over the reference photos:
    on 600 celebrities it must stay nearer the exact reach than an equally valid exact fit on
    the other half of the photos is, and rank as the exact one does."""
    vectors, photos, owners = gallery
    exact = fit_ranking(vectors, photos, owners, reach_neighbours=20)
    graph = fit_ranking(vectors, photos, owners, reach_neighbours=20, exact_limit=0)
    with monkeypatch.context() as other_half:
        other_half.setattr(ranking_module, "reference_photos", lambda owners: (owners % 2 == 1) & first_photos(owners))
        noise = np.abs(fit_ranking(vectors, photos, owners, reach_neighbours=20).reach - exact.reach) / exact.reach
    relative = np.abs(graph.reach - exact.reach) / exact.reach
    assert np.median(noise) > 0.01  # the other half does measure another reach
    assert relative.max() < np.median(noise)  # a miss only swaps in a photo a little farther
    assert np.mean(relative < 1e-5) >= 0.5  # most rows found their true k nearest (float32 distances)
    assert (graph.reach >= exact.reach * (1 - 1e-5)).all()  # never nearer than the true k nearest
    assert graph.spread == exact.spread and np.array_equal(graph.photos, exact.photos)
    one_each = fit_ranking(vectors, vectors, np.arange(len(vectors)), reach_neighbours=20, exact_limit=0)
    one_each_exact = fit_ranking(vectors, vectors, np.arange(len(vectors)), reach_neighbours=20)
    relative = np.abs(one_each.reach - one_each_exact.reach) / one_each_exact.reach
    # HNSW is approximate (and its build not deterministic): held to the same bounds as above
    assert relative.max() < np.median(noise) and np.mean(relative < 1e-5) >= 0.5
    assert (one_each.reach >= one_each_exact.reach * (1 - 1e-5)).all()
    names = [{"name": str(i)} for i in range(len(vectors))]
    exact_index = CelebrityIndex.build(vectors, names, CalibrationPhotos(photos, owners), ranking=exact)
    graph_index = CelebrityIndex.build(vectors, names, CalibrationPhotos(photos, owners), ranking=graph)
    same = [
        a.matches[0].name == b.matches[0].name
        for a, b in zip(exact_index.look_alikes(queries), graph_index.look_alikes(queries))
    ]
    assert np.mean(same) >= 0.99


def test_one_photo_per_celebrity_still_holds_hubs_back(gallery):
    vectors, _, _ = gallery
    ranking = fit_ranking(vectors, vectors, np.arange(len(vectors)), reach_neighbours=20)
    assert ranking.spread == 0.0 and (ranking.photos == 1).all()
    assert np.ptp(ranking.offsets) > 0  # the reach alone still tells hubs from the isolated
    assert np.allclose(ranking.offsets, -ranking.reach_weight * ranking.reach)


def test_a_small_gallerys_reach_is_a_neighbourhood_not_the_whole_gallery(gallery):
    """28 one-photo celebrities (a playground's first look): their reference photos are 14; a
    reach over K = 50 (or all 13 others') would be each celebrity's distance to everyone, which
    holds back whoever sits in the middle; it is over at most half of the others' photos."""
    vectors, _, _ = gallery
    small = fit_ranking(vectors[:28], vectors[:28], np.arange(28))
    assert small.reach_neighbours == 6
    reference = vectors[:28][::2].astype(np.float64)
    squared = ((vectors[:28, None].astype(np.float64) - reference[None]) ** 2).sum(axis=2)
    squared[::2][np.arange(14), np.arange(14)] = np.inf  # a celebrity's own reference photo is not another's
    assert np.allclose(small.reach, np.sort(squared, axis=1)[:, :6].mean(axis=1), rtol=1e-5)
    assert fit_ranking(vectors, vectors, np.arange(len(vectors))).reach_neighbours == 50  # a large one: K


# ---------------------------------------------------------------- the search


def test_the_re_ranked_graph_answers_as_an_exact_search_under_the_rule(ranked, queries):
    groups = ranked.probe.predict(queries)
    labels = gender.codes([ranked.celebrity(i) for i in range(len(ranked))])
    fast = ranked.look_alikes(queries, k=3)
    assert fast == ranked.look_alikes(queries, k=3, exact=True)
    for query, group, answer in zip(queries, groups, fast):
        allowed = labels != 1 - group  # the predicted gender and the unknown
        assert [m.id for m in answer.matches] == brute_force(ranked, query, allowed, 3)
        assert [answer.other.id] == brute_force(ranked, query, labels == 1 - group, 1)


def test_the_rule_moves_answers_away_from_the_plain_nearest(gallery, ranked, queries):
    """The offsets matter: some answers differ from the plain nearest vector's."""
    vectors, _, _ = gallery
    plain = CelebrityIndex.build(vectors, [{"name": str(i)} for i in range(len(vectors))], ANY_CALIBRATION)
    answers = zip(ranked.look_alikes(queries, k=1), plain.query(queries, k=1))
    assert sum(ours.matches[0].id != theirs[0].id for ours, theirs in answers) > 0


def test_a_gender_with_few_celebrities_answers_from_them(gallery, queries):
    """Three women among 600, every face predicted a woman: the answer is those three, the other side a man."""
    vectors, photos, owners = gallery
    few = [{"name": str(i), "gender": "female" if i in (3, 300, 555) else "male"} for i in range(len(vectors))]
    everyone_female = GenderProbe(tuple([0.0] * 128), -1.0)
    index = CelebrityIndex.build(vectors, few, ANY_CALIBRATION, probe=everyone_female)
    for answer in index.look_alikes(queries, k=3):
        assert sorted(m.id for m in answer.matches) == [3, 300, 555] and answer.gender == "female"
        assert few[answer.other.id]["gender"] == "male"


def test_without_a_probe_or_labels_gender_is_ignored(gallery, ranked, queries):
    vectors, photos, owners = gallery
    records = [{"name": str(i), "vector": v.tolist()} for i, v in enumerate(vectors)]
    unlabelled = CelebrityIndex.build(vectors, records, ANY_CALIBRATION, ranking=ranked.ranking)
    for answer, brute in zip(unlabelled.look_alikes(queries, k=3), queries):
        assert answer.gender is None and answer.other is None
        assert [m.id for m in answer.matches] == brute_force(unlabelled, brute, np.ones(len(vectors), bool), 3)
    labels = gender.codes([{"gender": g} for g in ["female", "male", "FEMALE", "x", None, 7]])
    assert labels.tolist() == [0, 1, 0, -1, -1, -1]
    assert fit_probe(photos, np.full(len(photos), -1)) is None  # no labels, no probe


@pytest.mark.parametrize("folds", [None, np.arange(500) % 2])
@pytest.mark.parametrize("women_spread", [1.0, 2.0])
def test_the_probe_separates_two_labelled_groups_with_equal_errors(folds, women_spread):
    """Equal error rates on new faces of both groups, the threshold measured in or out of
    sample; women's faces more varied along the gender axis move it off the midpoint."""
    rng = np.random.default_rng(1)
    axis, scale = np.eye(128)[0] * 2.5, np.ones(128)
    scale[0] = women_spread
    women, men = rng.normal(size=(100, 128)) * scale + axis, rng.normal(size=(400, 128)) - axis
    probe = fit_probe(np.vstack([women, men]), np.array([0] * 100 + [1] * 400), folds=folds)
    new_women, new_men = rng.normal(size=(4000, 128)) * scale + axis, rng.normal(size=(4000, 128)) - axis
    women_wrong = probe.predict(new_women).mean()
    men_wrong = 1 - probe.predict(new_men).mean()
    assert women_wrong < 0.1 and men_wrong < 0.1 and abs(women_wrong - men_wrong) < 0.03
    assert fit_probe(np.vstack([women[:19], men]), np.array([0] * 19 + [1] * 400)) is None


# ---------------------------------------------------------------- the percentile


def test_percentages_never_rise_down_an_answer(ranked, queries):
    for answer in ranked.look_alikes(queries, k=10):
        similarities = [m.similarity for m in answer.matches]
        assert similarities == sorted(similarities, reverse=True)
    assert ranked.calibration.quantiles and len(ranked.calibration.quantiles) > 100


def test_the_percentile_is_the_share_of_calibration_photos_ranked_farther(gallery, ranked):
    """Calibrated on the ranked distance: about 10% of the gallery's own photos score >= 0.9."""
    vectors, photos, owners = gallery
    found = ranked.graph_parts.search(photos, 2, exact=True)
    best_other = np.array([row.best[1][1] if row.best[0][0] == o else row.best[1][0] for row, o in zip(found, owners)])
    shares = ranked.calibration.similarity(best_other)
    assert abs((shares >= 0.9).mean() - 0.1) < 0.02 and abs(np.median(shares) - 0.5) < 0.05


def test_a_large_calibration_set_is_thinned_evenly(gallery, ranked, monkeypatch):
    _, photos, owners = gallery
    monkeypatch.setattr(calibration_module, "MAX_CALIBRATION_SAMPLES", 300)
    kept = np.linspace(0, len(photos) - 1, 300).astype(np.int64)
    thinned = fit_calibration(ranked.graph_parts, CalibrationPhotos(photos, owners))
    assert thinned == fit_calibration(ranked.graph_parts, CalibrationPhotos(photos[kept], owners[kept]))
    assert thinned != ranked.calibration
