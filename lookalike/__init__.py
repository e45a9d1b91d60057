"""The celebrity look-alike bot's package, in four rooms the data flows through one way:

- ``lookalike.fetcher``: Wikidata and Wikimedia Commons -> a photo folder with its catalog;
- ``lookalike.builder``: a photo folder -> an assets directory (discovery and catalog, the
  photo cache, filters and consensus, thumbnails, the index, the atomic swap);
- ``lookalike.engine``: untrusted bytes -> faces -> 128-d vectors -> nearest celebrities
  with an honest similarity (imaging, the dlib face model, framing, the index);
- ``lookalike.bot``: Telegram updates -> answers (handlers, replies, texts, pictures, the
  worker pool, per-user limits, index reload).

The bot and the builder use the engine; the engine uses neither; the bot never imports the
builder or the fetcher, and the fetcher and the builder never import each other. The
top-level scripts (bot.py, build_embeddings.py, model.py, fetch_celebrities.py) are thin
entry points over this package.
"""
