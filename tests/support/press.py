"""Pressing a runner-up button straight through the handler, against a stand-in bot."""

from __future__ import annotations


def press_runner_up(build, data: str, lang: str = "en") -> list[str | None]:
    """Press a runner-up button with ``data`` twice, straight through handlers.show_runner_up (not
    the admission) against a stand-in bot; the captions of the photos it sent."""
    import asyncio
    from types import SimpleNamespace

    from lookalike.bot import handlers

    sent = []

    async def send_photo(chat_id, photo, caption=None, filename=None):
        sent.append(caption)
        return SimpleNamespace(photo=[SimpleNamespace(width=256, height=256, file_id="file-1")])

    async def answer(*args, **kwargs):
        pass

    update = SimpleNamespace(
        update_id=1,
        effective_user=SimpleNamespace(id=7, language_code=lang),
        callback_query=SimpleNamespace(data=data, message=SimpleNamespace(chat=SimpleNamespace(id=7)), answer=answer),
    )
    context = SimpleNamespace(
        bot=SimpleNamespace(send_photo=send_photo),
        bot_data={
            "services": SimpleNamespace(
                reloader=SimpleNamespace(current=build), languages=SimpleNamespace(get=lambda user_id: None)
            )
        },
    )
    asyncio.run(handlers.show_runner_up(update, context))  # uploaded
    asyncio.run(handlers.show_runner_up(update, context))  # then by file_id
    return sent
