"""The "this is X" rule's tails through a graph at several efSearch, on a big gallery: time and decisions.

    python bench/tail_graph.py ASSETS_DIR [--ef 96,48,32] [--stand-ins 30000] [--held-out 3000]

On an assets directory (a million-celebrity one from million_bot.py), stand-in photos are
made as make_index's are (a photo each of --stand-ins celebrities, scattered by the
gallery's within-person spread), and the rule (identity.py) is fitted on them as
``CelebrityIndex.fit_identity`` fits it, once per efSearch of the tails graph (the first is
the baseline). Each rule then judges the same new photos of --held-out gallery celebrities
and --held-out synthetic strangers (synth.py): the time of the tails, the limit, the share
told "this is X", and how many decisions agree with the baseline's.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from common import load_average, table
from lfw_embeddings import DEFAULT_OUT
from synth import synthesise

from lookalike.assets_layout import META_FILE
from lookalike.engine import identity
from lookalike.engine.hnsw import HnswParameters
from lookalike.engine.index import CelebrityIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assets", type=Path)
    parser.add_argument("--ef", default="96,48,32")
    parser.add_argument("--stand-ins", type=int, default=30_000)
    parser.add_argument("--held-out", type=int, default=3000)
    args = parser.parse_args()
    index = CelebrityIndex.load(args.assets, num_threads=2)
    vectors = index.graph_parts.vectors
    spread = json.loads((args.assets / META_FILE).read_text())["ranking"]["spread"]
    rng = np.random.default_rng(0)
    scatter = math.sqrt(spread / vectors.shape[1])

    def photos_of(rows: np.ndarray) -> np.ndarray:
        return (vectors[rows] + rng.normal(scale=scatter, size=(len(rows), vectors.shape[1]))).astype(np.float32)

    owners = np.sort(rng.choice(len(index), args.stand_ins, replace=False))
    stand_ins = photos_of(owners)
    known = rng.choice(len(index), args.held_out, replace=False)
    with np.load(DEFAULT_OUT) as cached:
        strangers = synthesise(cached["vectors"], args.held_out, rng)
    strangers = (strangers + rng.normal(scale=scatter, size=strangers.shape)).astype(np.float32)
    answers = index.look_alikes(stand_ins, 4)
    held_out = index.look_alikes(photos_of(known), 3)
    foreign = index.look_alikes(strangers, 3)
    right = np.array([answer.matches[0].id == row for answer, row in zip(held_out, known)])
    rows, decided = [], {}
    for ef in [int(value) for value in args.ef.split(",")]:
        identity.TAIL_GRAPH = HnswParameters(identity.TAIL_GRAPH.m, identity.TAIL_GRAPH.ef_construction, ef)
        started = time.perf_counter()
        tails = identity.celebrity_tails(vectors, stand_ins, owners)
        seconds = time.perf_counter() - started
        scores = identity.stand_in_scores([answer.matches for answer in answers], owners, tails)
        rule = identity.fit_identity_rule(scores, tails.tails)
        if rule is None:
            sys.exit(f"no rule at efSearch {ef}")
        told, foreign_told = said(rule, held_out), said(rule, foreign)
        decided[ef] = np.concatenate([told, foreign_told])
        baseline = next(iter(decided.values()))
        rows.append(
            [
                ef,
                f"{seconds:.0f}",
                f"{rule.limit:.4f}",
                f"{100 * np.mean(told & right):.2f}",
                f"{100 * np.mean(foreign_told):.2f}",
                f"{100 * np.mean(decided[ef] == baseline):.2f}",
            ]
        )
    print(
        table(
            ["efSearch", "tails s", "limit", "held-out told %", "strangers told %", "same decisions %"],
            rows,
        )
    )
    print(f"{len(index):,} celebrities, {args.stand_ins:,} stand-ins; {load_average()}")


def said(rule: identity.IdentityRule, answers) -> np.ndarray:
    """Whether the rule says "this is X" of each answer's best match."""
    return np.array(
        [
            rule.holds(a.matches[0].id, a.matches[0].distance, a.matches[identity.QUERY_MATCH - 1].distance)
            for a in answers
        ]
    )


if __name__ == "__main__":
    main()
