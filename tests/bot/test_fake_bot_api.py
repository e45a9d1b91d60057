"""The fake Bot API, driven by a real python-telegram-bot ``Bot`` as bot.py will drive it."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import threading
import time

import pytest
import pytest_asyncio
import telegram
from aiohttp import web
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter

from tests.support.bot_api import (
    DOWNLOAD_METHOD,
    FakeBotApi,
    WaitTimeout,
    max_events_in_window,
)
from tests.support.bot_api.html import (
    HtmlError,
    parse_html,
)
from tests.support.data import SAMPLES, require

OBAMA = SAMPLES / "face_recognition" / "obama.jpg"
USER_ID = 4242


@pytest.fixture(scope="module")
def obama_jpeg() -> bytes:
    return require(OBAMA).read_bytes()


@pytest.fixture
def api():
    with FakeBotApi() as server:
        yield server


def make_bot(api: FakeBotApi, token: str | None = None) -> telegram.Bot:
    """A real PTB Bot pointed at the fake server, configured the way bot.py configures it."""
    return telegram.Bot(
        token or api.token,
        base_url=f"{api.url}/bot",
        base_file_url=f"{api.url}/file/bot",
    )


@pytest_asyncio.fixture
async def bot(api):
    async with make_bot(api) as initialized:
        yield initialized


@pytest.mark.asyncio
async def test_get_me_identifies_the_bot_by_its_token(bot, api):
    me = await bot.get_me()

    assert me.id == 123
    assert me.is_bot
    assert me.username == api.bot_user["username"]


@pytest.mark.asyncio
async def test_get_updates_long_polls_until_a_photo_arrives(bot, api, obama_jpeg):
    threading.Timer(0.3, api.send_photo_update, [USER_ID], {"sizes": obama_jpeg}).start()

    started = time.monotonic()
    updates = await bot.get_updates(timeout=5, allowed_updates=["message"])
    waited = time.monotonic() - started

    assert 0.25 < waited < 3, "should have waited for the update, and no longer"
    [update] = updates
    photo = update.message.photo
    assert [max(size.width, size.height) for size in photo] == [90, 320, 800, 1137]
    assert len({size.file_id for size in photo}) == len(photo)
    assert update.message.chat.type == "private"
    assert update.message.from_user.language_code == "en"
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()


@pytest.mark.asyncio
async def test_get_updates_returns_nothing_when_the_timeout_passes(bot):
    started = time.monotonic()

    assert await bot.get_updates(timeout=1) == ()
    assert time.monotonic() - started >= 0.9


@pytest.mark.asyncio
async def test_commands_carry_a_bot_command_entity(bot, api):
    api.send_text_update(USER_ID, "/start now")

    [update] = await bot.get_updates()

    assert update.message.parse_entities(["bot_command"]) == {update.message.entities[0]: "/start"}


@pytest.mark.asyncio
async def test_downloaded_photo_is_the_exact_largest_size(bot, api, obama_jpeg):
    update = api.send_photo_update(USER_ID, sizes=obama_jpeg)
    largest = update["message"]["photo"][-1]["file_id"]

    file = await bot.get_file(largest)
    buffer = io.BytesIO()
    await file.download_to_memory(buffer)

    assert file.file_path == f"{api.url}/file/bot{api.token}/photos/file_4.jpg"
    assert buffer.getvalue() == obama_jpeg
    assert [call.params["file_path"] for call in api.calls(DOWNLOAD_METHOD)] == ["photos/file_4.jpg"]


@pytest.mark.asyncio
async def test_get_file_refuses_documents_over_20_megabytes(bot, api):
    update = api.send_document_update(USER_ID, b"%PDF-1.4", "application/pdf", "big.pdf", file_size=25 * 1024 * 1024)

    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file(update["message"]["document"]["file_id"])


@pytest.mark.asyncio
async def test_send_photo_by_upload_then_by_returned_file_id(bot, api, obama_jpeg):
    api.add_chat(USER_ID)

    uploaded = await bot.send_photo(USER_ID, obama_jpeg, caption="You look like Obama")
    again = await bot.send_photo(USER_ID, uploaded.photo[-1].file_id)

    assert [size.file_id for size in again.photo] == [size.file_id for size in uploaded.photo]
    first, second = api.calls("sendPhoto", chat_id=USER_ID)
    assert first.media_source == "upload"
    assert first.files["photo"].data == obama_jpeg
    assert first.params["caption"] == "You look like Obama"
    assert second.media_source == "file_id"
    assert not second.files


@pytest.mark.asyncio
async def test_send_photo_with_an_unknown_file_id_is_a_bad_request(bot, api):
    api.add_chat(USER_ID)

    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(USER_ID, "AgACAgIAAxkBAAIBogABnotreal")

    [call] = api.calls("sendPhoto")
    assert call.failed and call.status == 400


@pytest.mark.asyncio
async def test_sending_to_an_unknown_chat_fails_like_telegram(bot):
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(777, "hello")


@pytest.mark.asyncio
async def test_captions_are_measured_after_parsing_the_html(bot, api, obama_jpeg):
    """Telegram counts a caption's parsed text: markup is free, one character more is refused."""
    api.add_chat(USER_ID)
    link = '<a href="https://www.wikidata.org/wiki/Q76">' + "&amp;" * 500 + "</a>"
    fits = f"<b>{'x' * 524}</b>{link}"  # 1024 characters once parsed, 1620 as sent

    await bot.send_photo(USER_ID, obama_jpeg, caption=fits, parse_mode="HTML")
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(USER_ID, obama_jpeg, caption=fits + "!", parse_mode="HTML")
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(USER_ID, obama_jpeg, caption="x" * 1025)

    sent, refused, plain = api.calls("sendPhoto")
    assert sent.ok and len(fits) > 1024
    assert refused.result == plain.result == "Bad Request: message caption is too long"


@pytest.mark.asyncio
async def test_unbalanced_html_is_refused_as_telegram_words_it(bot, api, obama_jpeg):
    api.add_chat(USER_ID)
    cut = 'You look like <b><a href="https://example.org/wiki/X">Barack Ob'

    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_photo(USER_ID, obama_jpeg, caption=cut, parse_mode="HTML")
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(USER_ID, "You look like <b", parse_mode="HTML")
    await bot.send_message(USER_ID, cut)  # without parse_mode the same text is just text

    photo, text, plain = api.calls()[-3:]
    assert photo.result == "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"a\""
    assert text.result == "Bad Request: can't parse entities: Unclosed start tag at byte offset 14"
    assert plain.ok


@pytest.mark.parametrize(
    "markup, reason",
    [  # TDLib's own test cases: the emoji are 4 bytes each, "&lt;" 4 more
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba>", 'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        ("🏟 🏟&lt;<i>a</em   >", 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"'),
        ("<b>bold <i>both</i>", 'Can\'t find end tag corresponding to start tag "b"'),
    ],
)
def test_telegram_html_reasons(markup, reason):
    with pytest.raises(HtmlError) as raised:
        parse_html(markup)
    assert str(raised.value) == reason


def test_telegram_html_decodes_what_telegram_decodes():
    assert parse_html("🏟 🏟<i>🏟 &lt🏟</i>") == "🏟 🏟🏟 <🏟"
    assert parse_html('<a href="https://x.org/?a=1&amp;b=2">A &amp; B</a> &#x27;&laquo;') == "A & B '&laquo;"
    assert parse_html("🏟 🏟&lt;<i>🏟 🏟&lt;</>") == "🏟 🏟<🏟 🏟<"


@pytest.mark.asyncio
async def test_a_reply_to_a_deleted_message_fails_unless_sent_without_the_quote(bot, api):
    update = api.send_text_update(USER_ID, "who do I look like?", chat_id=-500, chat_type="group")
    message_id = update["message"]["message_id"]
    quoted = await bot.send_message(-500, "first", reply_parameters=telegram.ReplyParameters(message_id))
    api.delete_message(-500, message_id)

    with pytest.raises(BadRequest, match="replied not found"):
        await bot.send_message(-500, "second", reply_parameters=telegram.ReplyParameters(message_id))
    unquoted = await bot.send_message(
        -500, "third", reply_parameters=telegram.ReplyParameters(message_id, allow_sending_without_reply=True)
    )

    assert quoted.reply_to_message.message_id == message_id
    assert unquoted.reply_to_message is None
    assert api.calls("sendMessage")[1].result == "Bad Request: message to be replied not found"


@pytest.mark.asyncio
async def test_fail_next_429_raises_retry_after_then_recovers(bot, api, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # opt in to PTB's future timedelta type
    api.add_chat(USER_ID)
    api.fail_next("sendMessage", retry_after=3)

    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER_ID, "first try")
    await bot.send_message(USER_ID, "second try")

    # a timedelta since PTB 22.2 with PTB_TIMEDELTA; seconds before (the bot reads both)
    assert raised.value.retry_after in (dtm.timedelta(seconds=3), 3)
    failed, delivered = api.calls("sendMessage")
    assert (failed.status, failed.injected) == (429, True)
    assert delivered.ok and delivered.params["text"] == "second try"
    assert api.replies(USER_ID) == [delivered]


@pytest.mark.asyncio
async def test_fail_next_500_is_a_network_error(bot, api):
    api.add_chat(USER_ID)
    api.fail_next("sendChatAction", status=500)

    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_chat_action(USER_ID, "upload_photo")
    assert await bot.send_chat_action(USER_ID, "upload_photo")


@pytest.mark.asyncio
async def test_wrong_token_is_refused(api):
    with pytest.raises(InvalidToken):
        await make_bot(api, token="999:WRONG").get_me()

    [call] = api.calls("getMe")
    assert call.status == 401


def test_wait_for_replies_reports_what_was_received(api):
    api.add_chat(-100, "group")

    with pytest.raises(WaitTimeout, match=r"no reply to \[-100\]") as raised:
        api.wait_for_replies([-100], timeout=0.2)
    assert "the bot never polled" in str(raised.value)


def test_max_events_in_window_counts_the_busiest_window():
    stamps = [0.0, 0.5, 0.99, 1.0, 1.2, 5.0]

    assert max_events_in_window(stamps, 1.0) == 4  # 0.5, 0.99, 1.0, 1.2
    assert max_events_in_window(stamps, 60.0) == 6
    assert max_events_in_window([], 1.0) == 0


@pytest.mark.asyncio
async def test_a_429_storm_asks_every_call_in_it_to_retry_after_its_seconds(bot, api):
    api.add_chat(USER_ID)
    api.fail_for(0.5, ["sendMessage"], status=429, retry_after=7)

    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER_ID, "in the storm")
    assert await bot.get_me()  # other methods pass
    await asyncio.sleep(0.6)
    await bot.send_message(USER_ID, "after it")

    assert raised.value.retry_after in (7, dtm.timedelta(seconds=7))
    assert [call.status for call in api.calls("sendMessage")] == [429, 200]


@pytest.mark.asyncio
async def test_downloads_in_a_slow_window_wait_and_then_come_whole(bot, api, obama_jpeg):
    file_id = api.add_file(obama_jpeg, kind="photo")
    api.slow_downloads_for(5, delay=0.4)
    started = time.monotonic()
    data = await (await bot.get_file(file_id)).download_as_bytearray()

    assert bytes(data) == obama_jpeg
    assert time.monotonic() - started >= 0.4


@pytest.mark.asyncio
async def test_a_webhook_gets_each_update_posted_with_its_secret_and_again_until_it_says_200(bot, api):
    """Telegram's side of a webhook, against a small server that fails the first POST of each update."""
    seen: list[tuple[int, str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        seen.append((update["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        first = [update_id for update_id, _ in seen].count(update["update_id"]) == 1
        return web.Response(status=500 if first else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        first = api.send_text_update(USER_ID, "/start")["update_id"]
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook", secret_token="s3", max_connections=2)
        second = api.send_text_update(USER_ID, "hello")["update_id"]
        for _ in range(200):
            if len(api.webhook_posts) >= 4:
                break
            await asyncio.sleep(0.05)
        assert sorted(seen) == [(first, "s3"), (first, "s3"), (second, "s3"), (second, "s3")]
        assert [post.status for post in api.webhook_posts if post.update_id == first] == [500, 200]
        await asyncio.sleep(1.5)
        assert len(seen) == 4, "an update answered 200 was posted again"
        with pytest.raises(Conflict):
            await bot.get_updates()
    finally:
        await runner.cleanup()
