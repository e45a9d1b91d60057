"""The Telegram edge's downloads: the smallest photo size big enough is the one downloaded."""

from __future__ import annotations


def test_the_smallest_photo_size_of_at_least_800_px_is_chosen():
    from telegram import PhotoSize

    from lookalike.bot.telegram_io import pick_photo_size

    def sizes(*sides):
        return tuple(PhotoSize(f"id{w}", f"u{w}", w, round(w * 0.75)) for w in sides)

    assert pick_photo_size(sizes(90, 320, 800, 1280)).width == 800
    assert pick_photo_size(sizes(90, 320, 1280)).width == 1280
    assert pick_photo_size(sizes(90, 320, 604)).width == 604  # none big enough: the largest
