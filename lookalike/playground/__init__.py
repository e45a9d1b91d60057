"""The playground: the bot in a browser, without Telegram (``python bot.py --playground``).

A local web page where one sends a photo and sees exactly what the bot would send: the same
admission, analysis, ranking, replies, captions and pictures (``lookalike.answering``), the same
settings and limits, photos kept in memory only. The flow goes one way: playground -> answering
-> engine. The playground imports nothing from the bot, nothing imports the playground, and it
never imports the builder or the fetcher: its first-run job (``first_run``) runs their command lines, fetch_celebrities.py
and build_embeddings.py, as child processes, exactly as an operator would.
"""
