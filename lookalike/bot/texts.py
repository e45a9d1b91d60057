"""Every sentence the bot says, in English and Russian.

``say(lang, key, **values)`` picks the language (English unless the user's Telegram
language code starts with "ru") and fills in the values. Messages that may carry names
(captions) are HTML: the caller escapes the names, this module only formats.
"""

from __future__ import annotations

DEFAULT = "en"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "start": (
            "Send me a selfie and I'll tell you which celebrity you look like, how alike "
            "you are, and show your faces side by side.\n\n"
            "Photos are processed in memory and never stored."
        ),
        "hint": "Send me a photo with a face (a selfie works best) and I'll find your celebrity look-alike.",
        "no_face": (
            "I couldn't find a face in this photo. A good selfie has one face, looking straight "
            "at the camera, in good light, and filling a good part of the frame."
        ),
        "bad_image": (
            "I couldn't read this file as a picture: it is not an image in a format I know. "
            "Please send a photo (JPEG, HEIC, AVIF, PNG or WebP)."
        ),
        "damaged_image": ("This picture is damaged or incomplete, so I couldn't read it. Please send it again."),
        "empty_file": "This file is empty. Please send a photo.",
        "too_many_pixels": (
            "This picture has too many pixels for me: I read JPEGs of up to {jpeg_mp} megapixels "
            "and other formats of up to {other_mp}. Send it as a photo instead of a file "
            "(Telegram makes it smaller), or a smaller image."
        ),
        "too_large": (
            "This file is larger than 20 MB, the most Telegram lets bots download. "
            "Send it as a photo instead of a file, or a smaller image."
        ),
        "download_failed": "I couldn't download this photo from Telegram. Please send it again.",
        "busy": "I'm busy with a lot of photos right now. Please try again in a moment.",
        "user_in_flight": "I'm still working on your previous photos. Send the next one when they're answered.",
        "user_rate": "That's a lot of photos in one minute! Please try again in {seconds} s.",
        "failed": "Something went wrong while processing this photo. Please try another one.",
        "match": "You look like <b>{name}</b>: {percent}%, more alike than {percent}% of people.",
        "this_is": "This is <b>{name}</b>! Not a look-alike: I know this face.",
        "also": "Also like: {others}",
        "small_face": "Tip: the face is small in this photo; a closer selfie gives a surer match.",
        "group": "I found {count} faces:",
        "group_line": "{number}. <b>{name}</b>: {percent}%",
        "group_this_is": "{number}. This is <b>{name}</b>",
        "stale_button": "This answer is from an older gallery. Please send your photo again.",
        "unknown_button": "This button isn't one of mine, so it does nothing.",
        "inline_button": "I can only show this photo in a chat with me: send me your selfie there.",
        "thumbnail": "{name} · {percent}%",
        "credit": "Photo: {author}, {license}",
        "credit_author": "Photo: {author}",
        "other_male": "As a man: {name} · {percent}%",
        "other_female": "As a woman: {name} · {percent}%",
        "stats_answered": "Photos answered: {answered} since the start ({hours} h ago), {day} in the last 24 h",
        "stats_outcomes": "Outcomes: {outcomes}",
        "stats_none": "none yet",
        "stats_coverage": "Celebrities answered: {answered} of {size} ({share} of the gallery)",
        "stats_most": "Most answered: {names}",
        "chart_celebrities": "Answers per celebrity (the {shown} most answered of {answered})",
        "chart_coverage": "The gallery's coverage: {answered} of {size} celebrities answered ({share})",
        "chart_hours": "Photos answered in the last 24 hours, by outcome ({day} in all)",
        "chart_hours_axis": "hours ago",
        "chart_empty": "No photos answered yet",
    },
    "ru": {
        "start": (
            "Пришлите селфи, и я скажу, на какую знаменитость вы похожи, насколько, "
            "и покажу ваши лица рядом.\n\n"
            "Фото обрабатываются в памяти и нигде не сохраняются."
        ),
        "hint": "Пришлите фото с лицом (лучше всего селфи), и я найду вашего звёздного двойника.",
        "no_face": (
            "Я не нашёл лица на этом фото. Хорошее селфи: одно лицо, взгляд прямо в камеру, "
            "хороший свет, и лицо занимает заметную часть кадра."
        ),
        "bad_image": (
            "Не получилось прочитать этот файл как изображение: это не картинка в известном мне формате. "
            "Пришлите фото (JPEG, HEIC, AVIF, PNG или WebP)."
        ),
        "damaged_image": (
            "Эта картинка повреждена или загружена не полностью, прочитать её не получилось. Пришлите её ещё раз."
        ),
        "empty_file": "Этот файл пустой. Пришлите фото.",
        "too_many_pixels": (
            "В этой картинке слишком много пикселей: я читаю JPEG до {jpeg_mp} мегапикселей, "
            "а другие форматы до {other_mp}. Отправьте её как фото, а не файлом "
            "(Telegram её уменьшит), или пришлите изображение поменьше."
        ),
        "too_large": (
            "Файл больше 20 МБ, а Telegram даёт ботам скачивать не больше. "
            "Отправьте его как фото, а не файлом, или пришлите изображение поменьше."
        ),
        "download_failed": "Не удалось скачать это фото из Telegram. Пришлите его ещё раз.",
        "busy": "Сейчас очень много фото. Попробуйте ещё раз через минутку.",
        "user_in_flight": "Я ещё обрабатываю ваши прошлые фото. Пришлите следующее, когда получите ответы.",
        "user_rate": "Слишком много фото за минуту! Попробуйте снова через {seconds} с.",
        "failed": "Что-то пошло не так при обработке этого фото. Попробуйте другое.",
        "match": "Вы похожи на <b>{name}</b>: {percent}%, больше, чем {percent}% людей.",
        "this_is": "Это <b>{name}</b>! Не двойник: я узнаю это лицо.",
        "also": "А ещё на: {others}",
        "small_face": "Совет: лицо на фото маленькое; селфи поближе даст более точный ответ.",
        "group": "Я нашёл лиц: {count}",
        "group_line": "{number}. <b>{name}</b>: {percent}%",
        "group_this_is": "{number}. Это <b>{name}</b>",
        "stale_button": "Этот ответ из старой галереи. Пришлите фото ещё раз.",
        "unknown_button": "Это не моя кнопка, она ничего не делает.",
        "inline_button": "Это фото я могу показать только в чате со мной: пришлите туда своё селфи.",
        "thumbnail": "{name} · {percent}%",
        "credit": "Фото: {author}, {license}",
        "credit_author": "Фото: {author}",
        "other_male": "Среди мужчин: {name} · {percent}%",
        "other_female": "Среди женщин: {name} · {percent}%",
        "stats_answered": "Ответов на фото: {answered} с начала ({hours} ч назад), {day} за последние 24 ч",
        "stats_outcomes": "Исходы: {outcomes}",
        "stats_none": "пока нет",
        "stats_coverage": "Знаменитостей в ответах: {answered} из {size} ({share} галереи)",
        "stats_most": "Чаще всего: {names}",
        "chart_celebrities": "Ответы по знаменитостям ({shown} самых частых из {answered})",
        "chart_coverage": "Охват галереи: {answered} из {size} знаменитостей в ответах ({share})",
        "chart_hours": "Ответы на фото за последние 24 часа по исходам (всего {day})",
        "chart_hours_axis": "часов назад",
        "chart_empty": "Ответов на фото пока нет",
    },
}


def language(language_code: str | None) -> str:
    """ "ru" for Russian-speaking users, English for everyone else."""
    return "ru" if (language_code or "").lower().startswith("ru") else DEFAULT


def say(lang: str, key: str, **values: object) -> str:
    """The text ``key`` in ``lang`` (falling back to English) with ``values`` filled in."""
    template = TEXTS.get(lang, TEXTS[DEFAULT]).get(key) or TEXTS[DEFAULT][key]
    return template.format(**values) if values else template
