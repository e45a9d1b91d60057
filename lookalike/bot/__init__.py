"""The Telegram edge: updates in (``handlers``, ``delivery``, ``webhook``), messages out
(``telegram_io``, ``telegram_retry``), over the answering room, which answers them."""
