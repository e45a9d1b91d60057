"""A secret setting read from the environment as ``NAME``, or from the file that ``NAME_FILE``
names: Docker and Compose secrets (``/run/secrets/...``) and systemd's ``LoadCredential=``
(``$CREDENTIALS_DIRECTORY/...``) hand a secret over as a file, which keeps it out of the
process's environment (``/proc/<pid>/environ``, ``docker inspect``).

The bot's token (TELEGRAM_BOT_TOKEN) and the playground's operator secret (PLAYGROUND_SECRET)
are read so. Every failure is one line that names the variable and the file, never the secret.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_BYTES = 64 * 1024
"""A secret file is a token or a password: a larger one is a mistake (a path to the wrong file)."""


class SecretError(ValueError):
    """The environment names the secret wrongly: both ways at once, or a file that cannot be read."""


def read_secret(env: Mapping[str, str], name: str) -> str | None:
    """``env[name]``, or the content of the file ``env[name + "_FILE"]`` without its trailing
    newline; None when neither is set (an empty value is unset, as in an env file's ``NAME=``)."""
    file_name = f"{name}_FILE"
    value, path = env.get(name) or None, env.get(file_name) or None
    if value is not None and path is not None:
        raise SecretError(f"{name} and {file_name} are both set: set one of them")
    if path is None:
        return value
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SecretError(f"cannot read {file_name} {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise SecretError(f"{file_name} {path} is larger than {MAX_BYTES // 1024} KiB: not a secret file")
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise SecretError(f"{file_name} {path} is not UTF-8 text") from None
    if not text:
        raise SecretError(f"{file_name} {path} is empty")
    return text
