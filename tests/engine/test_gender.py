"""Gender from two sources on real LFW photos: the dedicated classifier alone, and fused with
the embedding's Fisher probe, with and without labels."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from lookalike.engine import gender
from tests.support.data import LFW, missing_data, require

PEOPLE_PER_GENDER = 40


def labelled_people() -> dict[str, list[str]]:
    """LFW people with 2+ photos by catalog gender, alphabetically."""
    require(LFW / "catalog.csv")
    by_gender: dict[str, list[str]] = {"female": [], "male": []}
    with open(LFW / "catalog.csv", newline="") as file:
        for row in csv.DictReader(file):
            if row["gender"] in by_gender and len(list((LFW / row["key"]).glob("*.jpg"))) >= 2:
                by_gender[row["gender"]].append(row["key"])
    if min(len(people) for people in by_gender.values()) < PEOPLE_PER_GENDER:
        missing_data(f"needs {PEOPLE_PER_GENDER} LFW women and men with 2+ photos")
    return {label: people[:PEOPLE_PER_GENDER] for label, people in by_gender.items()}


@pytest.fixture(scope="module")
def photos(face_model) -> dict[str, np.ndarray]:
    """The first two photos of each person: embeddings, classifier scores, gender codes, person rows."""
    from lookalike.engine.face_workers import faces_in_photo

    rows = []
    people = labelled_people()
    for owner, (code, person) in enumerate(
        (code, p) for code, label in enumerate((gender.FEMALE, gender.MALE)) for p in people[label]
    ):
        for path in sorted((LFW / person).glob("*.jpg"))[:2]:
            faces = faces_in_photo(face_model, path.read_bytes()).faces
            if faces:
                face = max(faces, key=lambda f: f.area)
                rows.append((face.embedding, face.gender_score, code, owner))
    embeddings, scores, codes, owners = zip(*rows)
    return {
        "embeddings": np.stack(embeddings),
        "scores": np.array(scores),
        "codes": np.array(codes),
        "owners": np.array(owners),
    }


def test_the_classifier_tells_women_from_men(photos):
    scores, codes = photos["scores"], photos["codes"]
    assert len(scores) >= 150
    wrong_women, wrong_men = (scores[codes == 0] > 0).mean(), (scores[codes == 1] <= 0).mean()
    assert wrong_women <= 0.05 and wrong_men <= 0.05, (wrong_women, wrong_men)
    assert np.abs(scores).max() <= 12.0  # clipped log-odds, never infinite


@pytest.fixture(scope="module")
def fused(photos) -> tuple[gender.GenderProbe, np.ndarray]:
    """The fused gender fitted on the first photo of each person, and a mask of the other photos."""
    first = np.zeros(len(photos["owners"]), bool)
    first[np.unique(photos["owners"], return_index=True)[1]] = True
    fitted = gender.fit_gender(
        photos["embeddings"][first],
        photos["codes"][first],
        owners=photos["owners"][first],
        classifier_scores=photos["scores"][first],
    )
    assert fitted is not None and fitted.fusion is not None
    return fitted, ~first


def test_fused_gender_is_fitted_with_labels_and_scores(photos, fused):
    """Fitted on the first photo of each person, asked about the second: the fusion is at
    least as right as the probe alone, and it survives the index's JSON."""
    fitted, second = fused
    assert fitted.fusion.probe_weight > 0 and fitted.fusion.classifier_weight > 0
    truth = photos["codes"][second]
    probe_only = fitted.predict(photos["embeddings"][second])
    fused = fitted.predict(photos["embeddings"][second], photos["scores"][second])
    assert (fused == truth).mean() >= max(0.95, (probe_only == truth).mean())
    assert gender.GenderProbe.from_json(fitted.to_json()) == fitted


def test_the_fused_gender_listens_to_the_classifier(photos, fused):
    """The classifier's score moves the fused one: a face the classifier finds more male is
    more male fused, and the faces' own scores beat the same scores turned around (a
    fusion that kept the classifier's weight but dropped its score would tie)."""
    fitted, second = fused
    embeddings, scores, truth = photos["embeddings"][second], photos["scores"][second], photos["codes"][second]
    assert (fitted.score(embeddings, scores + 1.0) > fitted.score(embeddings, scores)).all()
    right = (fitted.predict(embeddings, scores) == truth).mean()
    turned_around = (fitted.predict(embeddings, -scores) == truth).mean()
    assert right - turned_around >= 0.05, (right, turned_around)


def test_without_classifier_scores_the_probe_is_as_before(photos):
    """An index fitted without scores (or asked without them) answers by the probe alone."""
    fitted = gender.fit_gender(photos["embeddings"], photos["codes"], owners=photos["owners"])
    assert fitted is not None and fitted.fusion is None
    assert fitted == gender.fit_probe(photos["embeddings"], photos["codes"], folds=photos["owners"] % 2)
    assert np.array_equal(fitted.score(photos["embeddings"], photos["scores"]), fitted.score(photos["embeddings"]))


def test_without_labels_there_is_no_gender(photos):
    unknown = np.full(len(photos["codes"]), -1)
    assert gender.fit_gender(photos["embeddings"], unknown, photos["owners"], photos["scores"]) is None


def test_the_build_fits_the_probe_on_at_most_gender_photos_spread_over_the_gallery(monkeypatch):
    """A million celebrities' two million photos would cost gigabytes of float64 copies in
    the probe's fit: make_index gives it ``GENDER_PHOTOS`` of them, from the whole gallery."""
    from pathlib import Path

    from lookalike.builder import build
    from lookalike.builder.celebrity_photos import Celebrity
    from tests.support.vectors import faces

    centres = faces(600, seed=9)
    rng = np.random.default_rng(9)
    entries = []
    for i, centre in enumerate(centres):
        embeddings = (centre + rng.normal(scale=0.03, size=(2, 128))).astype(np.float32)
        record = {"name": f"c{i}", "gender": ("female", "male")[i % 2]}
        entries.append(
            build.Entry(
                Celebrity(f"c{i}", f"c{i}", [], record),  # type: ignore[arg-type]
                embeddings.mean(axis=0),
                embeddings,
                rng.normal(size=2).astype(np.float32),
                Path(f"c{i}.jpg"),
                "",
                (0, 0, 1, 1),
            )
        )
    fitted = []
    fit_gender = gender.fit_gender
    monkeypatch.setattr(build, "GENDER_PHOTOS", 300)
    monkeypatch.setattr(
        gender,
        "fit_gender",
        lambda samples, codes, owners, scores: fitted.append(owners) or fit_gender(samples, codes, owners, scores),
    )
    index = build.make_index(entries)
    [owners] = fitted
    assert len(owners) == 300 and owners.min() == 0 and owners.max() == 599
    assert index.probe is not None


def test_the_gender_classifier_leaves_no_telemetry_in_the_home_directory(tmp_path):
    """onnxruntime writes a device id under ~/.cache/Microsoft and starts its telemetry uploader
    in each process that loads a model, unless ORT_DISABLE_TELEMETRY is set: the classifier sets it."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / ".cache"))
    code = "from lookalike.engine.gender_classifier import GenderClassifier; GenderClassifier()"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert list(tmp_path.rglob("*")) == []
