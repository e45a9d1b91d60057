"""The celebrity look-alike bot's package, in three rooms the data flows through one way:

- ``lookalike.engine``: untrusted bytes -> faces -> 128-d vectors -> nearest celebrities
  with an honest similarity (imaging, the dlib face model, framing, the index);
- ``lookalike.gallery``: a folder of photos -> a built index directory (discovery and
  catalog, the photo cache, filters and consensus, thumbnails, the atomic swap);
- ``lookalike.bot``: Telegram updates -> answers (handlers, replies, texts, pictures, the
  worker pool, per-user limits, index reload).

The bot and the gallery use the engine; the engine uses neither; the bot never imports
the gallery builder. The top-level scripts (bot.py, build_embeddings.py, model.py) are
thin entry points over this package.
"""
