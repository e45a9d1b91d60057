"""Tests of lookalike.bot, the Telegram edge, and of the bot end to end."""
