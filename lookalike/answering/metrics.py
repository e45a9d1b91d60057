"""The bot's Prometheus metrics, served at ``/metrics`` when METRICS_PORT is set (on
METRICS_LISTEN, loopback by default), beside the health endpoints ``/livez`` and ``/readyz``
(``health``).

Counted whether or not anything serves them (prometheus_client keeps them in memory);
``serve`` starts the HTTP endpoint. Labels are bounded: kinds of update, outcomes and
stages, never a user or a celebrity (unbounded cardinality, and users' privacy).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from lookalike.answering import listener
from lookalike.answering.admission import WaitReckoning
from lookalike.answering.analytics import MatchAnalytics
from lookalike.answering.build_reload import BuildReloader
from lookalike.answering.face_pool import FacePool
from lookalike.answering.health import Health
from lookalike.answering.loop_lag import LoopLag

MAX_BODY_BYTES = 1024
"""Its requests are GETs: a body is a mistake or an attack."""

SECONDS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0)

UPDATES = Counter(
    "lookalike_updates",
    "Updates handled, by kind (photo, document, command, button, other) and outcome",
    ["kind", "outcome"],
)
ANSWER_SECONDS = Histogram(
    "lookalike_answer_seconds", "From a photo's arrival to its answer sent, by kind", ["kind"], buckets=SECONDS
)
STAGE_SECONDS = Histogram(
    "lookalike_stage_seconds",
    "Time in each stage of a photo's answer: download, faces (the worker), send",
    ["stage"],
    buckets=SECONDS,
)
FACES = Histogram(
    "lookalike_faces_per_photo", "Faces found in each analysed photo", buckets=(0, 1, 2, 3, 5, 10, 20, 50)
)
TELEGRAM_GIVEN_UP = Counter(
    "lookalike_telegram_given_up",
    "Bot API calls given up after Telegram's 5xx or network failures outlasted TELEGRAM_RETRY_SECONDS"
    " (or a send that may have been delivered), by method (download: a file's bytes)",
    ["method"],
)
RETRY_AFTER = Counter(
    "lookalike_telegram_retry_after", "Bot API requests answered 429 Too Many Requests (retried after the wait)"
)


def update_handled(kind: str, label: str, seconds: float) -> None:
    """One update handled; ``label`` is its ``Outcome.label``, a bounded word."""
    UPDATES.labels(kind, label).inc()
    if kind in ("photo", "document"):
        ANSWER_SECONDS.labels(kind).observe(seconds)


class BotCollector(Collector):
    """Figures read at scrape time from the running bot: the pool, the index, the analytics,
    the admission's latest reckoning of a photo's answer time and the event loop's lag."""

    def __init__(
        self,
        pool: FacePool,
        reloader: BuildReloader,
        analytics: MatchAnalytics,
        reckoning: WaitReckoning | None = None,
        loop_lag: LoopLag | None = None,
    ):
        self.pool, self.reloader, self.analytics = pool, reloader, analytics
        self.reckoning, self.loop_lag = reckoning, loop_lag

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "lookalike_photos_pending",
            "Photos downloading, waiting for a worker or being analysed (MAX_PENDING bounds them)",
            value=self.pool.pending,
        )
        yield GaugeMetricFamily("lookalike_photos_max_pending", "MAX_PENDING", value=self.pool.max_pending)
        if self.reckoning is not None:
            yield GaugeMetricFamily(
                "lookalike_photos_expected_wait_seconds",
                "How long the latest photo was reckoned to wait for its answer ('busy' over MAX_WAIT_SECONDS)",
                value=self.reckoning.last,
            )
        if self.loop_lag is not None:
            yield GaugeMetricFamily(
                "lookalike_event_loop_lag_seconds",
                "How late the event loop ran a ticker lately (the worst of the last 5 s)",
                value=self.loop_lag.seconds,
            )
        yield GaugeMetricFamily("lookalike_workers", "Face-pipeline worker processes", value=self.pool.workers)
        yield CounterMetricFamily(
            "lookalike_worker_restarts", "Times the worker pool broke and was replaced", value=self.pool.restarts
        )
        current = self.reloader.current
        yield GaugeMetricFamily(
            "lookalike_index_celebrities", "Celebrities in the index answering now", value=len(current)
        )
        yield InfoMetricFamily("lookalike_index", "The index answering now", value={"version": current.version})
        yield CounterMetricFamily(
            "lookalike_index_reloads", "New indexes swapped in without a restart", value=self.reloader.reloads
        )
        coverage = self.analytics.coverage(current)
        yield GaugeMetricFamily(
            "lookalike_celebrities_answered",
            "Distinct celebrities of the current index given as a best match since the start",
            value=coverage.answered,
        )
        yield GaugeMetricFamily(
            "lookalike_gallery_share_answered",
            "Share of the current index's celebrities given as a best match since the start (0-1)",
            value=coverage.share,
        )
        yield GaugeMetricFamily(
            "lookalike_photos_answered_24h", "Photos answered in the last 24 hours", value=self.analytics.last_day()
        )


def serve(
    host: str,
    port: int,
    pool: FacePool,
    reloader: BuildReloader,
    analytics: MatchAnalytics,
    health: Health,
    reckoning: WaitReckoning | None = None,
    loop_lag: LoopLag | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> listener.ThreadedListener:
    """Register the bot's live figures and serve /metrics, /livez and /readyz on ``host:port``
    from a thread and an event loop of their own (so /livez can say the bot's loop is stuck);
    any other path is a 404. The listener's limits (``listener``) hold for every request."""
    registry.register(BotCollector(pool, reloader, analytics, reckoning, loop_lag))
    app = listener.application(max_body=MAX_BODY_BYTES)

    async def scrape(request: web.Request) -> web.Response:
        await listener.read_body(request)  # none, or a small one: else 413 (or 408)
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def probe(request: web.Request) -> web.Response:
        await listener.read_body(request)
        ok, figures = health.liveness() if request.path == "/livez" else health.readiness()
        return web.json_response(figures, status=200 if ok else 503, dumps=lambda v: json.dumps(v) + "\n")

    async def not_found(request: web.Request) -> web.Response:
        return web.Response(status=404, text="not found: /metrics, /livez or /readyz\n")

    app.router.add_get("/metrics", scrape)
    app.router.add_get("/livez", probe)
    app.router.add_get("/readyz", probe)
    app.router.add_route("*", "/{path:.*}", not_found)
    return listener.ThreadedListener(app, host, port, name="metrics-http")
