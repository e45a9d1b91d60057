"""The texts that say why: each reason a file cannot be read has its own, in every language asked."""

from __future__ import annotations


def test_each_reason_a_file_cannot_be_read_has_its_own_true_text_in_both_languages():
    from lookalike.answering.look_alike import IMAGE_ERROR_TEXTS
    from lookalike.answering.texts import say
    from lookalike.engine.imaging import ImageError

    reasons = {value for name, value in vars(ImageError).items() if name.isupper()}
    assert set(IMAGE_ERROR_TEXTS) == reasons
    for lang in ("en", "ru"):
        texts = [say(lang, IMAGE_ERROR_TEXTS[reason], jpeg_mp=256, other_mp=64) for reason in sorted(reasons)]
        assert len(set(texts)) == len(reasons)
    assert "256" in say("ru", "too_many_pixels", jpeg_mp=256, other_mp=64)
    assert "damaged" not in say("en", IMAGE_ERROR_TEXTS[ImageError.TOO_MANY_PIXELS], jpeg_mp=256, other_mp=64)
