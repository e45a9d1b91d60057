"""The playground's web server (aiohttp): the page, its two questions (a photo, a button
press), the first run, and the operator's pages.

Each browser gets a random visitor cookie, which stands for a Telegram user and their private
chat: the bot's per-user and per-chat limits apply to it as to them. Uploaded photos are read
into memory, at most the bot's 20 MB (past it the answer is the bot's "too large", and the
rest is not read), and never written anywhere. Who the operator is, and what every answer
tells the browser, is ``guards``; how much of a request is read, and for how long, ``bodies``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import BodyPartReader, web

from lookalike.answering import front_end, stats_chart
from lookalike.answering.analytics import MatchAnalytics
from lookalike.answering.build_reload import BuildChanged, BuildReloader, LoadedBuild, load_build_at_start
from lookalike.answering.look_alike import MAX_DOWNLOAD_BYTES
from lookalike.answering.services import Services
from lookalike.engine.index_files import IndexFormatError
from lookalike.languages import supported
from lookalike.playground import bodies, conversation, guards
from lookalike.playground.bodies import Limits
from lookalike.playground.first_run import DEFAULT_LIMIT, FirstRun
from lookalike.playground.page_texts import page_texts
from lookalike.playground.settings import Settings

log = logging.getLogger("playground")

STATIC = Path(__file__).parent / "static"
VISITOR_COOKIE = "visitor"
VISITOR = web.RequestKey("visitor", int)
VISITOR_TOKEN = re.compile(r"[0-9a-f]{32}")
PHOTO_FIELDS = {"lang": 16, "photo": MAX_DOWNLOAD_BYTES}
"""The photo form's fields and their caps in bytes (a photo past it is the bot's "too large")."""
FORM_OVERHEAD_BYTES = 64 * 1024
"""What a photo form may hold beside the photo: its boundaries, part headers and language."""
LOGIN_DESTINATIONS = ("/", "/operator")
"""Where the login form may send the browser next: never a URL it was given (an open redirect)."""


class Playground:
    """The bot's services without Telegram (``front_end.services``, as the bot makes its
    own); ``services`` is None until an index is loaded."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pool = front_end.face_pool(settings.answering)  # started at once: the first run needs no index
        self.analytics = MatchAnalytics()  # the playground's own counts, in memory
        self.services: Services | None = None
        self.problem = ""  # why there is no index yet
        self.first_run = FirstRun(
            settings.photos_dir, settings.answering.assets_dir, settings.sparql_url, settings.commons_api_url
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.pool.start()
        build = self._load()
        if build is not None:
            self._answer_from(build)
        else:
            self._tasks.append(asyncio.create_task(self._wait_for_index(), name="index-wait"))

    async def stop(self) -> None:
        await self.first_run.stop()
        for task in self._tasks:
            task.cancel()
        self.pool.shutdown()

    def _load(self) -> LoadedBuild | None:
        try:
            return load_build_at_start(self.settings.answering.assets_dir)
        except (IndexFormatError, BuildChanged, OSError) as exc:
            self.problem = str(exc)
            return None

    def _answer_from(self, build: LoadedBuild) -> None:
        answering = self.settings.answering
        reloader = BuildReloader(build, answering.index_poll_seconds)
        self.services = front_end.services(answering, reloader, pool=self.pool, analytics=self.analytics)
        self._tasks.append(asyncio.create_task(reloader.run(), name="build-reloader"))
        log.info("index: %d celebrities from %s", len(build), answering.assets_dir)

    async def _wait_for_index(self) -> None:
        """Look for an index every INDEX_POLL_SECONDS (a first run, or the operator's build)."""
        while True:
            await asyncio.sleep(self.settings.answering.index_poll_seconds)
            build = await asyncio.to_thread(self._load)
            if build is not None:
                self._answer_from(build)
                return


PLAYGROUND = web.AppKey("playground", Playground)


def make_app(playground: Playground, limits: Limits | None = None) -> web.Application:
    limits = limits or Limits()
    app = web.Application(middlewares=[guards.same_site_only, _visitor], client_max_size=limits.small_body_bytes)
    app[PLAYGROUND] = playground
    app[guards.OPERATOR] = guards.Operator(playground.settings.secret, playground.settings.listen)
    app[bodies.LIMITS] = limits
    app.on_response_prepare.append(guards.add_security_headers)
    operator_only = guards.operator_only
    app.add_routes(
        [
            web.get("/", _page("index.html")),
            web.get("/operator", operator_only(_page("operator.html"))),
            web.get("/operator/login", _page("login.html")),
            web.post("/operator/login", _login),
            web.post("/operator/logout", _logout),
            web.get("/operator/chart.png", operator_only(_chart)),
            web.get("/operator/summary", operator_only(_summary)),
            web.get("/api/state", _state),
            web.get("/api/texts", _texts),
            web.post("/api/photo", _photo),
            web.post("/api/button", _button),
            web.post("/api/first-run", operator_only(_start_first_run)),
            web.static("/static", STATIC),
        ]
    )
    return app


def make_runner(playground: Playground, limits: Limits | None = None) -> web.AppRunner:
    """The app with the server's own limits: a connection that has not sent a whole request
    within ``headers_seconds`` (a slow client, or one holding it on purpose) is closed, the
    rest of a refused body is read and dropped for ``refused_body_seconds`` at most, and
    aiohttp answers over-long request lines and headers with 400 itself."""
    limits = limits or Limits()
    return web.AppRunner(
        make_app(playground, limits),
        access_log=None,
        keepalive_timeout=limits.headers_seconds,
        lingering_time=limits.refused_body_seconds,
    )


@web.middleware
async def _visitor(request: web.Request, handler: guards.Handler) -> web.StreamResponse:
    """A visitor id for every browser, kept in a cookie: the Telegram user it stands for."""
    token = request.cookies.get(VISITOR_COOKIE, "")
    fresh = not VISITOR_TOKEN.fullmatch(token)  # a cookie the browser was not given is replaced
    if fresh:
        token = secrets.token_hex(16)
    request[VISITOR] = int(token[:15], 16)
    response = await handler(request)
    if fresh:
        response.set_cookie(VISITOR_COOKIE, token, httponly=True, samesite="Strict")
    return response


def _page(name: str) -> guards.Handler:
    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})

    return page


async def _login(request: web.Request) -> web.Response:
    """The login form's post: the secret once, a session cookie back (an HMAC, not the secret)."""
    operator = request.app[guards.OPERATOR]
    fields = await bodies.form_fields(request, {"secret": 1024, "then": 16})
    then = fields["then"] if fields["then"] in LOGIN_DESTINATIONS else "/operator"
    if operator.access != "login":
        raise web.HTTPConflict(text="No PLAYGROUND_SECRET is set: there is nothing to log in with.\n")
    if not operator.secret_matches(fields["secret"]):
        log.warning("operator login refused: not the secret")
        return _see_other(f"/operator/login?{urlencode({'wrong': 1, 'then': then})}")
    response = _see_other(then)
    response.set_cookie(
        guards.COOKIE,
        operator.token(),
        max_age=guards.SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
    )
    log.info("operator logged in")
    return response


async def _logout(request: web.Request) -> web.Response:
    response = _see_other("/")
    response.del_cookie(guards.COOKIE, path="/")
    return response


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


async def _state(request: web.Request) -> web.Response:
    """What the page shows: the index or the first run's progress for everyone; the paths, the
    contact and the commands' output lines (which name paths) for the operator only."""
    playground = request.app[PLAYGROUND]
    operator = request.app[guards.OPERATOR]
    services = playground.services
    index = None
    if services is not None:
        build = services.reloader.current
        index = {"celebrities": len(build), "version": build.version}
    progress = playground.first_run.progress
    state: dict[str, Any] = {
        "index": index,
        "operator": operator.recognises(request),
        "access": operator.access,
        "first_run": {"state": progress.state, "stage": progress.stage, "percent": progress.percent},
        "limit": DEFAULT_LIMIT,
        "max_bytes": MAX_DOWNLOAD_BYTES,
    }
    if state["operator"]:
        state["first_run"] = progress.to_json()
        state["problem"] = playground.problem
        state["assets_dir"] = str(playground.settings.answering.assets_dir)
        state["photos_dir"] = str(playground.settings.photos_dir)
        state["contact"] = playground.settings.contact
    return web.json_response(state, headers={"Cache-Control": "no-store"})


async def _texts(request: web.Request) -> web.Response:
    """The page's words in the language asked for (the browser's, or the visitor's choice)."""
    return web.json_response(page_texts(request.query.get("lang")))


async def _photo(request: web.Request) -> web.Response:
    """A photo posted as multipart/form-data (fields ``lang`` and ``photo``): the bot's answer.
    Past the bot's 20 MB the answer is its "too large" text, before the rest is read."""
    limits = request.app[bodies.LIMITS]
    if not request.content_type.startswith("multipart/"):
        raise web.HTTPBadRequest(text="Send the photo as multipart/form-data, field 'photo'.\n")
    lang = supported((request.headers.get("Accept-Language") or "").split(",")[0])
    if (request.content_length or 0) > MAX_DOWNLOAD_BYTES + FORM_OVERHEAD_BYTES:
        return web.json_response(conversation.too_large(request.content_length or 0, lang).to_json(), status=413)
    data = b""
    async with bodies.within(limits.photo_body_seconds):
        reader = await request.multipart()
        fields = 0
        while (part := await reader.next()) is not None:
            fields += 1
            if fields > len(PHOTO_FIELDS) or not isinstance(part, BodyPartReader) or part.name not in PHOTO_FIELDS:
                raise web.HTTPBadRequest(text="The form's fields are 'lang' and 'photo', once each.\n")
            value = await bodies.read_part(part, PHOTO_FIELDS[part.name])
            if part.name == "lang":
                lang = supported(bodies.text_part("lang", value, PHOTO_FIELDS["lang"]))
            elif len(value) > MAX_DOWNLOAD_BYTES:  # the rest is not read: the answer cannot change
                return web.json_response(conversation.too_large(len(value), lang).to_json(), status=413)
            else:
                data = value
    message = await conversation.photo(_services(request), request[VISITOR], data, lang)
    return web.json_response(message.to_json())


async def _button(request: web.Request) -> web.Response:
    fields = await bodies.json_fields(request, {"data": 64, "lang": 16})  # Telegram's callback data: 64 bytes
    message = await conversation.press(_services(request), request[VISITOR], fields["data"], supported(fields["lang"]))
    return web.json_response(message.to_json())


async def _start_first_run(request: web.Request) -> web.Response:
    playground = request.app[PLAYGROUND]
    if playground.services is not None:
        return web.json_response({"error": "there is an index already"}, status=409)
    fields = await bodies.json_fields(request, {"contact": 200, "limit": 6})
    try:
        limit = int(fields["limit"] or DEFAULT_LIMIT)
    except ValueError:
        return web.json_response({"error": "the number of celebrities must be a number"}, status=400)
    problem = playground.first_run.start(fields["contact"], limit)
    if problem:
        return web.json_response({"error": problem}, status=400)
    return web.json_response(playground.first_run.progress.to_json())


async def _chart(request: web.Request) -> web.Response:
    services = _services(request)
    lang = supported(request.query.get("lang"))
    png = await asyncio.to_thread(stats_chart.draw, services.analytics, services.reloader.current, lang)
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})


async def _summary(request: web.Request) -> web.Response:
    services = _services(request)
    lang = supported(request.query.get("lang"))
    return web.Response(text=await asyncio.to_thread(services.analytics.summary, services.reloader.current, lang))


def _services(request: web.Request) -> Services:
    services = request.app[PLAYGROUND].services
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
    runner = make_runner(playground)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen, settings.port).start()
        host = f"[{settings.listen}]" if ":" in settings.listen else settings.listen
        log.info(
            "playground: http://%s:%d/ (%s)", host, settings.port, "an index" if playground.services else "no index yet"
        )
        if guards.Operator(settings.secret, settings.listen).access == "closed":
            log.warning("listening beyond this machine without PLAYGROUND_SECRET: the operator's pages are closed")
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        await playground.stop()
        log.info("stopped")
