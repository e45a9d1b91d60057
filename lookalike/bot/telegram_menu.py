"""What Telegram shows about the bot before anyone writes to it: the command menu (private
chats and groups) and the descriptions (the empty chat's "What can this bot do?" and the
profile's short line), in every language the bot speaks (``lookalike.languages``), from the
same catalogs as its answers; English is also the default, for users whose Telegram is in a
language the bot does not speak.

Set at every start (``set_up``) so they follow the code; a failure is logged, never fatal:
the bot answers photos without a menu.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats
from telegram.error import TelegramError

from lookalike.answering.texts import say
from lookalike.languages import DEFAULT, LANGUAGES

log = logging.getLogger(__name__)

COMMANDS = {
    "private": [
        ("start", "command_start"),
        ("help", "command_help"),
        ("language", "command_language"),
        ("forget", "command_forget"),
    ],
    "groups": [("help", "command_help_group")],
}
"""Each menu's commands and the keys of their descriptions (``texts``)."""


async def set_up(bot: Bot) -> bool:
    """Set the menus and descriptions in every language; False (logged) if Telegram refused one."""
    scopes = {"private": BotCommandScopeAllPrivateChats(), "groups": BotCommandScopeAllGroupChats()}
    try:
        for lang in LANGUAGES:
            code = None if lang == DEFAULT else lang
            for where, scope in scopes.items():
                commands = [BotCommand(command, say(lang, key)) for command, key in COMMANDS[where]]
                await bot.set_my_commands(commands, scope=scope, language_code=code)
            await bot.set_my_description(say(lang, "description"), language_code=code)
            await bot.set_my_short_description(say(lang, "short_description"), language_code=code)
    except TelegramError as exc:
        log.warning("could not set the command menu and descriptions: %s", exc)
        return False
    log.info("command menu and descriptions set (%s)", ", ".join(LANGUAGES))
    return True
