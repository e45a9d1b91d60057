"""A health probe for supervisors that cannot make HTTP requests themselves (Docker's and
Compose's ``healthcheck`` run a command in the container, which has no curl)::

    python -m lookalike.bot.probe readyz     # or livez

GETs ``http://$METRICS_LISTEN:$METRICS_PORT/<endpoint>`` (loopback when METRICS_LISTEN is unset
or every address; ``.env`` read as the bot reads it) and
exits 0 when the bot answers 200, 1 otherwise, printing the answer's figures.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from lookalike.bot.env_file import with_env_file

ENDPOINTS = ("livez", "readyz")
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def main(argv: list[str]) -> int:
    endpoint = argv[0] if argv else "readyz"
    if endpoint not in ENDPOINTS:
        print(f"probe: the endpoint is livez or readyz, not {endpoint!r}", file=sys.stderr)
        return 2
    env = with_env_file(os.environ)
    port = env.get("METRICS_PORT", "")
    if not port:
        print("probe: METRICS_PORT is not set, so the bot serves no health endpoints", file=sys.stderr)
        return 2
    url = f"http://{_address(env.get('METRICS_LISTEN') or '127.0.0.1')}:{port}/{endpoint}"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            print(answer.read().decode(errors="replace").strip())
            return 0
    except urllib.error.HTTPError as exc:
        print(exc.read().decode(errors="replace").strip() or f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        print(f"probe: {url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
    return 1


def _address(listen: str) -> str:
    """Where to ask a bot listening on ``listen``: its loopback when it listens everywhere."""
    host = WILDCARDS.get(listen, listen)
    return f"[{host}]" if ":" in host else host


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
