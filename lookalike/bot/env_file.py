"""The bot's ``.env`` file: ``NAME=value`` lines that configure it as environment variables do.

Read from the working directory when present (``ENV_FILE`` names another); a variable set in
the environment wins over the file, as Docker Compose and systemd expect of an env file.
The syntax is the common subset of Compose's and systemd's: ``NAME=value``, an optional
``export``, ``#`` comments and blank lines, a value optionally in single or double quotes
(kept verbatim inside; no ``$`` expansion). ``.env.example`` lists every variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from lookalike.bot.config import ConfigError

DEFAULT_PATH = Path(".env")

_LINE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")


def with_env_file(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` over the variables of the env file (``ENV_FILE``, else ``.env`` if it exists)."""
    named = environ.get("ENV_FILE")
    path = Path(named) if named else DEFAULT_PATH
    if not named and not path.exists():
        return dict(environ)
    return {**read_env_file(path), **environ}


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of the env file at ``path``; a ConfigError naming the line it cannot read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the env file {path}: {exc}") from None
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            # The line itself is not shown: it may be a pasted token.
            raise ConfigError(f"{path}:{number}: not a NAME=value line")
        name, value = match.groups()
        found[name] = _unquoted(value, f"{path}:{number}")
    return found


def _unquoted(value: str, where: str) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        if end == -1:
            raise ConfigError(f"{where}: the value's closing {quote} is missing")
        rest = value[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise ConfigError(f"{where}: text after the quoted value")
        return value[1:end]
    return re.sub(r"\s+#.*$", "", value).strip()  # `NAME=value  # comment`
