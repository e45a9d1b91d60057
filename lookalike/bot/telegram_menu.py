"""What Telegram shows about the bot before anyone writes to it: the command menu (private
chats and groups) and the descriptions (the empty chat's "What can this bot do?" and the
profile's short line), in English and, for users whose Telegram is in Russian, Russian.

Set at every start (``set_up``) so they follow the code; a failure is logged, never fatal:
the bot answers photos without a menu.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats
from telegram.error import TelegramError

log = logging.getLogger(__name__)

LANGUAGES = ("en", "ru")
"""English is also the default (``language_code`` unset): every other language sees it."""

COMMANDS = {
    "private": {
        "en": [("start", "What this bot does"), ("help", "How to get the best look-alike")],
        "ru": [("start", "Что умеет этот бот"), ("help", "Как получить лучший ответ")],
    },
    "groups": {
        "en": [("help", "How the bot answers photos in this group")],
        "ru": [("help", "Как бот отвечает на фото в этой группе")],
    },
}

DESCRIPTION = {
    "en": (
        "Send me a selfie and I'll tell you which celebrity you look like, how alike you are, "
        "and show your faces side by side. Group photos get a look-alike for every face. "
        "Photos are processed in memory and never stored."
    ),
    "ru": (
        "Пришлите селфи, и я скажу, на какую знаменитость вы похожи и насколько, и покажу "
        "ваши лица рядом. На групповом фото найду двойника для каждого лица. "
        "Фотографии обрабатываются в памяти и нигде не сохраняются."
    ),
}

SHORT_DESCRIPTION = {
    "en": "Which celebrity do you look like? Send a selfie.",
    "ru": "На какую знаменитость вы похожи? Пришлите селфи.",
}


async def set_up(bot: Bot) -> bool:
    """Set the menus and descriptions in every language; False (logged) if Telegram refused one."""
    scopes = {"private": BotCommandScopeAllPrivateChats(), "groups": BotCommandScopeAllGroupChats()}
    try:
        for lang in LANGUAGES:
            code = None if lang == "en" else lang
            for where, scope in scopes.items():
                commands = [BotCommand(command, text) for command, text in COMMANDS[where][lang]]
                await bot.set_my_commands(commands, scope=scope, language_code=code)
            await bot.set_my_description(DESCRIPTION[lang], language_code=code)
            await bot.set_my_short_description(SHORT_DESCRIPTION[lang], language_code=code)
    except TelegramError as exc:
        log.warning("could not set the command menu and descriptions: %s", exc)
        return False
    log.info("command menu and descriptions set (%s)", ", ".join(LANGUAGES))
    return True
