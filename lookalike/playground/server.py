"""The playground's web server (aiohttp): the page, its two questions (a photo, a button
press), the first run, and the operator page.

Each browser gets a random visitor cookie, which stands for a Telegram user and their private
chat: the bot's per-user and per-chat limits apply to it as to them. Uploaded photos are read
into memory, at most the bot's 20 MB (the rest of a larger upload is read and dropped), and
never written anywhere. The operator page (the /stats chart and text) answers requests from
this machine only, or, when PLAYGROUND_SECRET is set, requests that carry it (``?secret=``),
from anywhere: behind a reverse proxy every request comes from this machine, so set it there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import signal
import sys
from pathlib import Path

from aiohttp import BodyPartReader, web

from lookalike.bot import stats_chart
from lookalike.bot.analytics import MatchAnalytics
from lookalike.bot.chat_limits import ChatLimits
from lookalike.bot.face_pool import FacePool
from lookalike.bot.index_reload import AssetsChanged, AssetsWatcher, LoadedAssets, load_assets_at_start
from lookalike.bot.services import Services
from lookalike.bot.telegram_io import MAX_DOWNLOAD_BYTES
from lookalike.bot.user_limits import UserLimits
from lookalike.engine.index_files import IndexFormatError
from lookalike.languages import supported
from lookalike.playground import conversation
from lookalike.playground.first_run import DEFAULT_LIMIT, FirstRun
from lookalike.playground.page_texts import page_texts
from lookalike.playground.settings import Settings

log = logging.getLogger("playground")

STATIC = Path(__file__).parent / "static"
VISITOR_COOKIE = "visitor"
LOOPBACK = ("127.0.0.1", "::1")


class Playground:
    """The bot's services without Telegram; ``services`` is None until an index is loaded."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pool = FacePool(settings.workers, settings.max_pending)
        self.limits = UserLimits(settings.user_in_flight, settings.user_per_minute)
        self.analytics = MatchAnalytics()  # the playground's own counts, in memory
        self.services: Services | None = None
        self.problem = ""  # why there is no index yet
        self.first_run = FirstRun(
            settings.photos_dir, settings.assets_dir, settings.sparql_url, settings.commons_api_url
        )
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        await self.pool.start()
        assets = self._load()
        if assets is not None:
            self._answer_from(assets)
        else:
            self._tasks.append(asyncio.create_task(self._wait_for_index(), name="index-wait"))

    async def stop(self) -> None:
        await self.first_run.stop()
        for task in self._tasks:
            task.cancel()
        self.pool.shutdown()

    def _load(self) -> LoadedAssets | None:
        try:
            return load_assets_at_start(self.settings.assets_dir)
        except (IndexFormatError, AssetsChanged, OSError) as exc:
            self.problem = str(exc)
            return None

    def _answer_from(self, assets: LoadedAssets) -> None:
        watcher = AssetsWatcher(assets, self.settings.index_poll_seconds)
        self.services = Services(
            pool=self.pool, assets=watcher, limits=self.limits, chats=ChatLimits(), analytics=self.analytics
        )
        self._tasks.append(asyncio.create_task(watcher.run(), name="index-watcher"))
        log.info("index: %d celebrities from %s", len(assets), self.settings.assets_dir)

    async def _wait_for_index(self) -> None:
        """Look for an index every INDEX_POLL_SECONDS (a first run, or the operator's build)."""
        while True:
            await asyncio.sleep(self.settings.index_poll_seconds)
            assets = await asyncio.to_thread(self._load)
            if assets is not None:
                self._answer_from(assets)
                return


def make_app(playground: Playground) -> web.Application:
    app = web.Application(middlewares=[_visitor])
    app["playground"] = playground
    app.add_routes(
        [
            web.get("/", _page("index.html")),
            web.get("/operator", _operator(_page("operator.html"))),
            web.get("/operator/chart.png", _operator(_chart)),
            web.get("/operator/summary", _operator(_summary)),
            web.get("/api/state", _state),
            web.get("/api/texts", _texts),
            web.post("/api/photo", _photo),
            web.post("/api/button", _button),
            web.post("/api/first-run", _start_first_run),
            web.static("/static", STATIC),
        ]
    )
    return app


@web.middleware
async def _visitor(request: web.Request, handler):
    """A visitor id for every browser, kept in a cookie: the Telegram user it stands for."""
    token = request.cookies.get(VISITOR_COOKIE, "")
    fresh = len(token) != 32
    if fresh:
        token = secrets.token_hex(16)
    request["visitor"] = int(token[:15], 16)
    response = await handler(request)
    if fresh:
        response.set_cookie(VISITOR_COOKIE, token, httponly=True, samesite="Strict")
    return response


def _page(name: str):
    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})

    return page


def _operator(handler):
    """Only this machine, or whoever has PLAYGROUND_SECRET when it is set."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        secret = request.app["playground"].settings.secret
        if secret:
            allowed = hmac.compare_digest(request.query.get("secret", ""), secret)
        else:
            allowed = request.remote in LOOPBACK and "X-Forwarded-For" not in request.headers
        if not allowed:
            raise web.HTTPForbidden(text="The operator page answers this machine only, or PLAYGROUND_SECRET.\n")
        return await handler(request)

    return guarded


async def _state(request: web.Request) -> web.Response:
    playground: Playground = request.app["playground"]
    services = playground.services
    index = None
    if services is not None:
        assets = services.assets.current
        index = {"celebrities": len(assets), "version": assets.version}
    return web.json_response(
        {
            "index": index,
            "problem": playground.problem,
            "assets_dir": str(playground.settings.assets_dir),
            "photos_dir": str(playground.settings.photos_dir),
            "first_run": playground.first_run.progress.to_json(),
            "contact": playground.settings.contact,
            "limit": DEFAULT_LIMIT,
            "max_bytes": MAX_DOWNLOAD_BYTES,
        }
    )


async def _texts(request: web.Request) -> web.Response:
    """The page's words in the language asked for (the browser's, or the visitor's choice)."""
    return web.json_response(page_texts(request.query.get("lang")))


async def _photo(request: web.Request) -> web.Response:
    services = _services(request)
    lang, data = "en", b""
    if not request.content_type.startswith("multipart/"):
        raise web.HTTPBadRequest(text="Send the photo as multipart/form-data, field 'photo'.\n")
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "lang":
            lang = supported(await part.text())
        elif part.name == "photo":
            data = await _read_capped(part, MAX_DOWNLOAD_BYTES + 1)
    message = await conversation.photo(services, request["visitor"], data, lang)
    return web.json_response(message.to_json())


async def _read_capped(part: BodyPartReader, cap: int) -> bytes:
    """The part's bytes, at most ``cap`` kept in memory: the rest is read and dropped, so that a
    too large photo is answered with the bot's "too large" text."""
    kept = bytearray()
    while chunk := await part.read_chunk(1 << 16):
        if len(kept) < cap:
            kept += chunk[: cap - len(kept)]
    return bytes(kept)


async def _button(request: web.Request) -> web.Response:
    services = _services(request)
    body = await request.json()
    message = await conversation.press(
        services, request["visitor"], str(body.get("data", "")), supported(body.get("lang"))
    )
    return web.json_response(message.to_json())


async def _start_first_run(request: web.Request) -> web.Response:
    playground: Playground = request.app["playground"]
    if playground.services is not None:
        return web.json_response({"error": "there is an index already"}, status=409)
    body = await request.json()
    try:
        limit = int(body.get("limit", DEFAULT_LIMIT))
    except (TypeError, ValueError):
        return web.json_response({"error": "the number of celebrities must be a number"}, status=400)
    problem = playground.first_run.start(str(body.get("contact", "")), limit)
    if problem:
        return web.json_response({"error": problem}, status=400)
    return web.json_response(playground.first_run.progress.to_json())


async def _chart(request: web.Request) -> web.Response:
    services = _services(request)
    lang = supported(request.query.get("lang"))
    png = await asyncio.to_thread(stats_chart.draw, services.analytics, services.assets.current, lang)
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})


async def _summary(request: web.Request) -> web.Response:
    services = _services(request)
    lang = supported(request.query.get("lang"))
    return web.Response(text=await asyncio.to_thread(services.analytics.summary, services.assets.current, lang))


def _services(request: web.Request) -> Services:
    services = request.app["playground"].services
    if services is None:
        raise web.HTTPConflict(text="No index yet: build one, or start the first run on the page.\n")
    return services


def serve(settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT; the exit status, with one line on stderr for a failure."""
    try:
        asyncio.run(_serve(settings))
    except OSError as exc:  # the port taken, the address not this machine's
        print(
            f"bot.py --playground: cannot serve on {settings.listen}:{settings.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    return 0


async def _serve(settings: Settings) -> None:
    playground = Playground(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, stop.set)
    await playground.start()
    runner = web.AppRunner(make_app(playground), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen, settings.port).start()
        host = f"[{settings.listen}]" if ":" in settings.listen else settings.listen
        log.info(
            "playground: http://%s:%d/ (%s)", host, settings.port, "an index" if playground.services else "no index yet"
        )
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        await playground.stop()
        log.info("stopped")
