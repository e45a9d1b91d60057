"""The celebrity index: 128-d face embeddings in, nearest celebrities with true distances out.

Built once by the builder, saved to an assets directory and loaded by the bot, in
the style of nmslib's and faiss's Python APIs::

    ranking = fit_ranking(vectors, photo_vectors, photo_owners)      # ranking.py
    probe = fit_probe(photo_vectors, photo_genders)                  # gender.py
    photos = CalibrationPhotos(photo_vectors, photo_owners)          # calibration.py
    index = CelebrityIndex.build(vectors, celebrities, photos, ranking=ranking, probe=probe)
    index.save(directory)                                            # index_files.py
    ...
    index = CelebrityIndex.load(directory)
    index.identity = index.fit_identity(photos, photo_gender_scores)   # identity.py
    ...
    [answer] = index.look_alikes(embedding, k=3, gender_scores=[score])   # answer.matches, .other, .this_is

An index is complete when it is made: ``build`` fits its calibration (or takes a fitted
one) and ``load`` reads every part back. The search under the ranking rule, one graph
per gender label when there is a gender probe, is search.py's; the graphs are hnsw.py's.
A ``Match`` carries the true 128-d Euclidean distance and the percentile of the ranked one.

Nothing is loaded at import: an index exists only once ``build`` or ``load`` ran.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lookalike import assets_layout
from lookalike.engine import gender
from lookalike.engine.calibration import Calibration, CalibrationPhotos, fit_calibration
from lookalike.engine.celebrity_records import CelebrityRecords, RecordsError
from lookalike.engine.exact import celebrity_array, query_array
from lookalike.engine.gender import GenderProbe
from lookalike.engine.hnsw import HnswParameters
from lookalike.engine.identity import (
    QUERY_MATCH,
    TAIL_PHOTO,
    IdentityRule,
    celebrity_tails,
    fit_identity_rule,
    stand_in_scores,
)
from lookalike.engine.index_files import read_index, write_index
from lookalike.engine.ranking import Ranking
from lookalike.engine.search import Found, GraphParts, Rows
from lookalike.records import CelebrityRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Match:
    """One celebrity found for a face."""

    id: int  # row in the index
    name: str
    distance: float  # true Euclidean distance between the embeddings
    similarity: float  # Calibration.similarity of the ranked distance, a fraction in [0, 1]


@dataclass(frozen=True)
class LookAlike:
    """The answer for one face: best matches first, within the face's predicted gender
    when the index has a gender probe, and then the best match of the other gender."""

    matches: list[Match]
    gender: str | None = None  # "female", "male", or None without a probe
    other: Match | None = None
    this_is: Match | None = None  # the best match when the face almost surely IS that celebrity (identity.py)


LEAD_CANDIDATES = 10
"""Matches the graphs give for each face, in the ranking's order: the answer's k best, and the
candidates among which the truly nearest celebrity and the face's third nearest are read for
the "this is X" rule (identity.py). The celebrity truly nearest to a photo of itself is among
the ranking's first 10 for all but ~0.1% of LFW's held-out photos (bench/gallery_photos.py)."""
IDENTITY_CANDIDATES = LEAD_CANDIDATES + 1
"""Matches asked for each stand-in photo when the rule is fitted: its owner, and as many others
as a face is judged among."""


class CelebrityIndex:
    """Celebrity embeddings with their metadata, searchable by face embedding.

    Create with ``build`` or ``load``.
    """

    def __init__(
        self,
        *,
        graph_parts: GraphParts,
        celebrities: CelebrityRecords,
        calibration: Calibration,
        identity: IdentityRule | None = None,
        directory: Path | None = None,
    ):
        self._graph_parts = graph_parts
        self._celebrities = celebrities
        self._calibration = calibration
        self.identity = identity
        """The "this is X" rule; None (never said) until ``fit_identity``'s is set."""
        self.directory = directory

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        celebrities: Sequence[CelebrityRecord],
        calibration: Calibration | CalibrationPhotos,
        *,
        ranking: Ranking | None = None,
        probe: GenderProbe | None = None,
        parameters: HnswParameters | None = None,
        num_threads: int = 1,
    ) -> CelebrityIndex:
        """Index ``vectors`` (n, 128); row i is ``celebrities[i]``, a record with at least a "name".

        ``calibration`` is a fitted one, or the photos to fit it on once the graphs are
        built (``fit_calibration``). Without a ``ranking`` the index ranks by plain
        distance; without a ``probe`` it ignores gender; without ``parameters``
        the graphs take hnsw.py's defaults.
        """
        vectors = celebrity_array(vectors)
        if len(celebrities) != len(vectors):
            raise ValueError(f"{len(vectors)} vectors but {len(celebrities)} celebrities")
        try:
            records = CelebrityRecords.of(celebrities)
        except RecordsError as exc:
            raise ValueError(str(exc)) from exc
        graph_parts = GraphParts.build(
            vectors,
            gender.codes(celebrities),
            ranking or Ranking.plain(len(vectors)),
            probe,
            parameters or HnswParameters(),
            num_threads,
        )
        log.info(
            "built an index of %d celebrities (%s; %d graphs)",
            len(graph_parts),
            graph_parts.parameters,
            len(graph_parts.graphs),
        )
        if isinstance(calibration, CalibrationPhotos):
            calibration = fit_calibration(graph_parts, calibration)
        return cls(graph_parts=graph_parts, celebrities=records, calibration=calibration)

    @classmethod
    def load(cls, directory: Path | str, *, num_threads: int = 1) -> CelebrityIndex:
        """Load what ``save`` wrote, raising ``IndexFormatError`` if anything is missing or disagrees."""
        directory = Path(directory)
        stored = read_index(directory, num_threads)
        log.info("loaded %d celebrities from %s", stored.meta.count, directory)
        return cls(
            graph_parts=stored.graph_parts,
            celebrities=stored.celebrities,
            calibration=stored.meta.calibration,
            identity=stored.identity,
            directory=directory,
        )

    def save(self, directory: Path | str) -> None:
        """Write the index into the existing ``directory`` (index_files.py)."""
        directory = Path(directory)
        write_index(directory, self._graph_parts, self._celebrities, self.calibration, self.identity)
        self.directory = directory
        log.info("saved %d celebrities to %s", len(self), directory)

    def query(self, vectors: np.ndarray, k: int = 3, *, exact: bool = False) -> list[list[Match]]:
        """The ``k`` best celebrities of each face (m, 128) or (128,), best first: ``look_alikes``' matches."""
        return [answer.matches for answer in self.look_alikes(vectors, k, exact=exact)]

    def look_alikes(
        self, vectors: np.ndarray, k: int = 3, *, exact: bool = False, gender_scores: np.ndarray | None = None
    ) -> list[LookAlike]:
        """Each face's answer under the ranking rule; ``k`` is clipped to the celebrities allowed.

        ``exact`` scores every celebrity with numpy instead of asking the graph (for
        tests; the graph gives the same answers, much faster). ``gender_scores``, the
        gender classifier's scores of the faces (``Face.gender_score``), join the probe's
        in choosing each face's gender where the index has a fusion (gender.py).

        The search asks for ``LEAD_CANDIDATES`` matches at least: when the "this is X" rule
        says the face is (or, at its looser lead limit, almost surely is) its truly nearest
        celebrity among them and the other gender's best, that celebrity leads the answer
        (identity.py), even from the other gender (then no other-gender button repeats it).
        """
        answers = []
        for found, candidates in self._candidates(vectors, max(k, LEAD_CANDIDATES), exact, gender_scores):
            other = next(iter(self._matches(found.other)), None)
            nearest, this_is = self._identified([*candidates, *([other] if other else [])])
            if nearest is not None and nearest == other and this_is is None:
                nearest = None  # the other gender leads only a face that IS its celebrity
            if nearest is None:
                answers.append(LookAlike(candidates[:k], found.gender, other))
            else:  # the other gender's best leads when it is the face's celebrity: the probe was wrong
                led = _led_by(nearest, candidates)[:k]
                answers.append(LookAlike(led, found.gender, None if nearest == other else other, this_is))
        return [self._named(answer) for answer in answers]

    def fit_identity(self, photos: CalibrationPhotos, gender_scores: np.ndarray | None = None) -> IdentityRule | None:
        """The "this is X" rule (identity.py) fitted on the gallery's own photos: ``photos``
        (their embeddings and owners' rows) and, if known, their gender classifier scores.

        The photos are the stand-ins: each celebrity's tail is its nearest photos of other
        people among them, and each stands in for a stranger once its owner is taken out of
        its answer, scored against the celebrity it then meets best, whose tail it leaves.
        """
        others = len(photos.samples) - int(np.bincount(photos.owners).max(initial=0))
        if others <= TAIL_PHOTO:
            log.info("no 'this is X' rule: %d stand-in photos, too few for the tails", len(photos.samples))
            return None
        tails = celebrity_tails(self._graph_parts.vectors, photos.samples, photos.owners)
        found = self._candidates(photos.samples, IDENTITY_CANDIDATES, False, gender_scores)
        scores = stand_in_scores([candidates for _, candidates in found], photos.owners, tails)
        return fit_identity_rule(scores, tails.tails)

    @property
    def calibration(self) -> Calibration:
        """How ranked distances read as percentiles (fitted when the index was built)."""
        return self._calibration

    @property
    def graph_parts(self) -> GraphParts:
        """The graphs and what searching them needs (search.py)."""
        return self._graph_parts

    @property
    def ranking(self) -> Ranking:
        return self._graph_parts.ranking

    @property
    def probe(self) -> GenderProbe | None:
        return self._graph_parts.probe

    @property
    def parameters(self) -> HnswParameters:
        """The HNSW parameters: m, ef_construction, ef_search."""
        return self._graph_parts.parameters

    @property
    def ef_search(self) -> int:
        """Candidates the graph search keeps: higher is surer and slower."""
        return self._graph_parts.parameters.ef_search

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self._graph_parts.parameters = dataclasses.replace(self._graph_parts.parameters, ef_search=value)

    @property
    def names(self) -> list[str]:
        """Every celebrity's name, in row order (``CelebrityRecords.names``: ~2 s at a million)."""
        return self._celebrities.names()

    def celebrity(self, i: int) -> CelebrityRecord:
        """Celebrity ``i``'s record as given to ``build`` (a new dict at each call)."""
        return self._celebrities[i]

    def gender(self, i: int) -> str | None:
        """Celebrity ``i``'s gender label: female, male, or None (unknown), as the graphs split them."""
        code = int(self._graph_parts.genders[i])
        return None if code == gender.UNKNOWN_CODE else gender.of_code(code)

    def thumbnail_path(self, i: int) -> Path | None:
        """Where the builder put celebrity ``i``'s thumbnail (``assets_layout``); None before save or load."""
        if not 0 <= i < len(self):
            raise IndexError(f"no celebrity {i} in an index of {len(self)}")
        return None if self.directory is None else assets_layout.thumbnail_path(self.directory, i)

    def __len__(self) -> int:
        return len(self._graph_parts)

    def _candidates(
        self, vectors: np.ndarray, count: int, exact: bool, gender_scores: np.ndarray | None
    ) -> list[tuple[Found, list[Match]]]:
        """Each face's search result and its ``count`` best matches in the ranking's order."""
        scores = None if gender_scores is None else np.asarray(gender_scores, np.float64).reshape(-1)
        found = self._graph_parts.search(query_array(vectors), count, exact, scores)
        return [(result, self._matches(result.best)) for result in found]

    def _identified(self, candidates: list[Match]) -> tuple[Match | None, Match | None]:
        """The truly nearest candidate when the rule lets it lead the answer, and it again
        when the rule says the face IS that celebrity (each None otherwise)."""
        if self.identity is None or len(candidates) < QUERY_MATCH:
            return None, None
        nearest = sorted(candidates, key=lambda match: match.distance)
        best, third = nearest[0], nearest[QUERY_MATCH - 1].distance
        if not self.identity.leads(best.id, best.distance, third):
            return None, None
        return best, best if self.identity.holds(best.id, best.distance, third) else None

    def _named(self, answer: LookAlike) -> LookAlike:
        """``answer`` with its celebrities' names, each read from its record now: of the
        candidates an answer is chosen among, only those it gives are named."""

        def named(match: Match) -> Match:
            return dataclasses.replace(match, name=self._celebrities.name(match.id))

        return dataclasses.replace(
            answer,
            matches=[named(match) for match in answer.matches],
            other=None if answer.other is None else named(answer.other),
            this_is=None if answer.this_is is None else named(answer.this_is),
        )

    def _matches(self, rows: Rows) -> list[Match]:
        """Matches with true distances and the similarity of the ranked distance, not yet named (``_named``)."""
        ids, ranked, distances = rows
        if len(ids) == 0:
            return []
        similarities = self.calibration.similarity(ranked)
        return [
            Match(id=i, name="", distance=d, similarity=s)
            for i, d, s in zip(ids.tolist(), distances.tolist(), similarities.tolist())
        ]


def _led_by(first: Match, candidates: list[Match]) -> list[Match]:
    """``first`` (one of ``candidates`` or not) put at the front of them, with the percentage of the answer's best
    if that is higher, so that the percentages never rise down the answer."""
    lead = dataclasses.replace(first, similarity=max(first.similarity, candidates[0].similarity))
    return [lead, *(match for match in candidates if match.id != first.id)]
