"""What a fetch did, counted: people listed and skipped (by reason), photos fetched and already
there, files not used (by reason), each reason with a few examples; logged at the end."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from lookalike.fetcher.wikidata import Person

log = logging.getLogger("fetch_celebrities")

EXAMPLES = 5  # people or files listed per reason in the report


@dataclass
class Report:
    listed: int = 0
    fetched: int = 0  # photo files downloaded
    already: int = 0  # photo files kept as they were
    skipped: Counter[str] = field(default_factory=Counter[str])  # people left without a photo, by reason
    examples: dict[str, list[str]] = field(default_factory=dict)
    rejected: Counter[str] = field(default_factory=Counter[str])  # files not used, by reason ("painting", a licence...)
    rejected_examples: dict[str, list[str]] = field(default_factory=dict)
    lookups_failed: int = 0  # searches for a person's other files that failed (tried again next run)
    seconds: float = 0.0
    interrupted: bool = False
    list_complete: bool = True

    def skip(self, person: Person, reason: str) -> None:
        self.skipped[reason] += 1
        _example(self.examples, reason, f"{person.qid} ({person.file})")

    def reject(self, qid: str, title: str, reason: str) -> None:
        self.rejected[reason] += 1
        _example(self.rejected_examples, reason, f"{qid} ({title})")

    def log(self) -> None:
        log.info(
            "%s in %.1f s: %d people listed%s, %d photos fetched, %d already there, %d people skipped",
            "interrupted" if self.interrupted else "done",
            self.seconds,
            self.listed,
            "" if self.list_complete else " (list incomplete)",
            self.fetched,
            self.already,
            sum(self.skipped.values()),
        )
        for reason, count in self.skipped.most_common():
            log.info("  skipped, %s: %d (e.g. %s)", reason, count, ", ".join(self.examples.get(reason, [])))
        for reason, count in self.rejected.most_common():
            log.info(
                "  file not used, %s: %d (e.g. %s)", reason, count, ", ".join(self.rejected_examples.get(reason, []))
            )
        if self.lookups_failed:
            log.warning(
                "  %d searches for more files failed: those people are searched again next run", self.lookups_failed
            )


def _example(examples: dict[str, list[str]], reason: str, example: str) -> None:
    listed = examples.setdefault(reason, [])
    if len(listed) < EXAMPLES:
        listed.append(example)
