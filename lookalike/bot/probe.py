"""A health probe for supervisors that cannot make HTTP requests themselves (Docker's and
Compose's ``healthcheck`` run a command in the container, which has no curl)::

    python -m lookalike.bot.probe readyz     # or livez

GETs ``http://127.0.0.1:$METRICS_PORT/<endpoint>`` (``.env`` read as the bot reads it) and
exits 0 when the bot answers 200, 1 otherwise, printing the answer's figures.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from lookalike.bot.env_file import with_env_file

ENDPOINTS = ("livez", "readyz")


def main(argv: list[str]) -> int:
    endpoint = argv[0] if argv else "readyz"
    if endpoint not in ENDPOINTS:
        print(f"probe: the endpoint is livez or readyz, not {endpoint!r}", file=sys.stderr)
        return 2
    port = with_env_file(os.environ).get("METRICS_PORT", "")
    if not port:
        print("probe: METRICS_PORT is not set, so the bot serves no health endpoints", file=sys.stderr)
        return 2
    url = f"http://127.0.0.1:{port}/{endpoint}"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            print(answer.read().decode(errors="replace").strip())
            return 0
    except urllib.error.HTTPError as exc:
        print(exc.read().decode(errors="replace").strip() or f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        print(f"probe: {url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
