"""The celebrity look-alike bot's package, in rooms the data flows through one way:

- ``lookalike.fetcher``: Wikidata and Wikimedia Commons -> a photo folder (photos and
  ``catalog.json``);
- ``lookalike.builder``: a photo folder -> an assets directory (discovery, the photo cache,
  filters and consensus, the index, thumbnails, contact sheets, the atomic swap);
- ``lookalike.engine``: untrusted bytes -> faces -> 128-d vectors -> ranked celebrities with
  an honest percentage (imaging, the face workers and dlib model, the ``CelebrityIndex`` and
  its ranking, gender and calibration, ``lookup`` for model.py);
- ``lookalike.answering``: a photo -> its answer, whichever front end asks: admitted
  (``admission``), analysed in the face pool (``look_alike``, ``face_pool``, ``analysis``),
  ranked by the index of the build answering now (``build_reload``) and made into a reply
  (``replies``); its settings and services made the same way for both front ends;
- ``lookalike.bot``: the Telegram edge: updates in (``handlers``), messages out (``telegram_io``);
- ``lookalike.playground``: the same answers in a browser, without Telegram.

Beside them, ``lookalike.cpu_check`` runs first, when the package is imported: dlib and
nmslib built for x86-64-v3 (``install.sh --portable``, the container image) on a CPU without
AVX2 or FMA stop the process with one line, not with SIGILL at their first instruction.
``lookalike.records`` (the typed ``CelebrityRecord``) and ``lookalike.assets_layout`` (the
assets directory's file names) may be imported by every room, the engine too;
``lookalike.catalog`` (the catalog's one reader), ``lookalike.cluster`` (Dask) and
``lookalike.progress`` (a bar or log lines) serve both the fetcher and the builder.

Words with one meaning each: the photo folder is the builder's input; the catalog is its
catalog.json or catalog.csv; the assets directory is what the builder writes and the bot
(ASSETS_DIR) and model.py (--assets) load, ``assets_dir`` in the code and nothing else; a
build is an assets directory as loaded and answered from (``LoadedBuild``), the reloader what
swaps a new one in (``BuildReloader``); the index is the in-memory ``CelebrityIndex``; the
gallery is the set of celebrities an index answers from.

The builder and the answering room use the engine; the engine uses none of the others; the
two front ends use the answering room and never each other; nothing that answers imports the
builder or the fetcher; the fetcher and the builder never import each other. The top-level
scripts (bot.py, build_embeddings.py, model.py, fetch_celebrities.py) are thin entry points
over this package; README.md's "How it is built" names the module and function of each step.
"""

from lookalike.cpu_check import exit_if_unsupported

exit_if_unsupported()
