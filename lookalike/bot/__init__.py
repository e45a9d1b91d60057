"""The Telegram bot: updates in, look-alike answers out, over the engine and a built index."""
