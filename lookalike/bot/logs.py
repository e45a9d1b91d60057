"""The bot's log on stderr: plain text lines (``LOG_FORMAT=text``, the default) or one JSON
object a line (``LOG_FORMAT=json``: ``time``, ``level``, ``logger``, ``message``, the line's
own fields, and ``exception`` with a traceback), for a log pipeline to read without parsing.

What never reaches it: the token (replaced by ``<TOKEN>`` wherever it appears, tracebacks
included), a user's Telegram id (the handlers log a keyed pseudonym, ``pseudonyms``), and
python-telegram-bot's own DEBUG lines, which print whole updates and requests (ids, names,
texts): its loggers stay at INFO whatever LOG_LEVEL says.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line; a record's ``fields`` (``extra={"fields": {...}}``) join it."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({key: value for key, value in fields.items() if key not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """``formatter``'s lines with every occurrence of the bot token replaced, tracebacks included."""

    def __init__(self, formatter: logging.Formatter, secret: str):
        super().__init__()
        self.formatter, self.secret = formatter, secret

    def format(self, record: logging.LogRecord) -> str:
        return self.formatter.format(record).replace(self.secret, "<TOKEN>")


class ShortStartupErrors(logging.Filter):
    """PTB logs a start-up failure (bad token, unreachable server) with its whole traceback;
    main() says what happened in one line, so the log keeps only PTB's message. Likewise its rate
    limiter's last 429 before it gives up, which ``telegram_retry`` waits out: an INFO line, like
    the limiter's other 429s."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "telegram.ext" and "(Bootstrap" in record.getMessage():
            record.exc_info, record.exc_text = None, None
        if record.name == "telegram.ext.AIORateLimiter" and str(record.msg).startswith("Rate limit hit after maximum"):
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def setup(level: str, log_format: str, token: str) -> None:
    handler = logging.StreamHandler()
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(RedactingFormatter(formatter, token))
    handler.addFilter(ShortStartupErrors())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("telegram").setLevel(max(logging.getLevelName(level), logging.INFO))
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
