"""The answering room: a photo's answer without knowing where it came from. Admitted
(``admission`` and the limits), analysed in the face pool (``look_alike``, ``face_pool``,
``analysis``), ranked by the build answering now (``build_reload``), answered (``replies``,
``captions``, ``pictures``, ``texts``), counted (``outcome``, ``metrics``, ``analytics``);
``settings`` and ``services`` make all of it from one set of settings. The Telegram bot
(``lookalike.bot``) and the playground (``lookalike.playground``) are its two front ends:
they import it, and it imports neither.
"""
