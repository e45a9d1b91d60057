"""What became of one update, as a value: the answer's result, how it was delivered, the
fields of its log line and what the match analytics count.

Every update leaves one ``Outcome``; the metric label, the analytics and the log line are
all read from it (``label``, ``logged``), never parsed back out of a string.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SENT, AS_TEXT, UNSENT = "sent", "as_text", "unsent"
"""How the answer went: as worked out; a picture Telegram refused, sent again as plain
text; or not at all (the send failed for good)."""


@dataclass
class Outcome:
    kind: str
    """photo, document, command, button, other."""
    result: str
    """What the answer says, a bounded word: match, no_face, busy, failed, help..."""
    detail: str | None = None
    """Why, in words for the log only (an exception's message): unbounded, never a label."""
    delivery: str = SENT
    delivery_detail: str | None = None
    fields: dict[str, object] = field(default_factory=dict)
    """More for the log line: bytes, faces, top, percent, source, celebrity..."""
    best_matches: list[str] = field(default_factory=list)
    """Each face's best match, by name, for the analytics (a match only)."""

    @property
    def label(self) -> str:
        """The metric label: the result, marked ``_unsent`` when the answer never went out."""
        return f"{self.result}_unsent" if self.delivery == UNSENT else self.result

    @property
    def logged(self) -> str:
        """The outcome as the log line shows it, e.g. ``match-as-text(BadRequest: ...)``."""
        text = f"{self.result}({self.detail})" if self.detail else self.result
        if self.delivery == AS_TEXT:
            text += f"-as-text({self.delivery_detail})"
        elif self.delivery == UNSENT:
            text += f"-unsent({self.delivery_detail})"
        return text

    @property
    def fields_text(self) -> str:
        """The fields as the text log line shows them: `` key=value`` each, a number or a word
        as it is, other text (a celebrity's name) quoted."""
        return "".join(f" {key}={_quoted(value)}" for key, value in self.fields.items() if value is not None)

    def not_sent(self, reason: str) -> None:
        self.delivery, self.delivery_detail = UNSENT, reason

    def sent_as_text(self, reason: str) -> None:
        self.delivery, self.delivery_detail = AS_TEXT, reason


def _quoted(value: object) -> str:
    if isinstance(value, str) and not value.replace("-", "_").isidentifier():
        return repr(value)
    return str(value)
