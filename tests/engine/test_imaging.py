"""Decoding users' bytes: every format people send works, every bad kind fails with its reason."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from lookalike.engine.imaging import ImageError, decode_image

ORIENTATION = 0x0112
PHONE_48_MP = (8064, 6048)


@pytest.fixture
def portrait(sample) -> Image.Image:
    return Image.open(sample("face_recognition/obama_small.jpg")).convert("RGB")


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "mode, fmt",
    [("RGB", "JPEG"), ("RGBA", "PNG"), ("RGB", "WEBP"), ("P", "GIF"), ("L", "PNG"), ("CMYK", "JPEG"), ("LA", "PNG")],
)
def test_common_formats_decode_to_rgb(portrait, mode, fmt):
    rgb = decode_image(encode(portrait.convert(mode), fmt))
    assert rgb.dtype == np.uint8
    assert rgb.shape == (portrait.height, portrait.width, 3)
    reference = np.asarray(portrait, dtype=np.int16)
    assert np.abs(rgb.astype(np.int16) - reference).mean() < 40


def test_transparent_pixels_become_white(portrait):
    rgba = portrait.convert("RGBA")
    rgba.putalpha(0)
    assert (decode_image(encode(rgba, "PNG")) == 255).all()


def test_sixteen_bit_grayscale_keeps_its_contrast(portrait):
    gray = np.asarray(portrait.convert("L"), dtype=np.uint16) * 257
    rgb = decode_image(encode(Image.fromarray(gray), "PNG"))
    assert rgb.max() == 255 and rgb.std() > 20
    assert np.array_equal(rgb[:, :, 0], rgb[:, :, 2])


def marked(portrait: Image.Image) -> Image.Image:
    """The portrait with a pure red square in its top-left corner, to see where that corner goes."""
    upright = portrait.copy()
    upright.paste((255, 0, 0), (0, 0, 40, 40))
    return upright


def red_corner(rgb: np.ndarray) -> str:
    """Which corner of the decoded image holds the red square."""
    height, width = rgb.shape[:2]
    corners = {
        "top-left": (10, 10),
        "top-right": (10, width - 11),
        "bottom-left": (height - 11, 10),
        "bottom-right": (height - 11, width - 11),
    }
    red = {name: rgb[y, x, 0] > 200 and rgb[y, x, 1] < 60 and rgb[y, x, 2] < 60 for name, (y, x) in corners.items()}
    [corner] = [name for name, is_red in red.items() if is_red]
    return corner


# How a camera stores the upright picture for each EXIF orientation (the viewer undoes it).
STORED_AS = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # the viewer turns it 90 degrees clockwise
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
@pytest.mark.parametrize("fmt", ["JPEG", "AVIF", "HEIF"])
def test_exif_orientation_turns_the_picture_upright(portrait, fmt, orientation):
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    stored = marked(portrait).transpose(STORED_AS[orientation])
    rgb = decode_image(encode(stored, fmt, exif=exif.tobytes(), quality=90))
    assert rgb.shape == (portrait.height, portrait.width, 3)
    assert red_corner(rgb) == "top-left"


def test_a_sideways_phone_photo_is_read_with_its_face_upright(face_model, sample):
    """HOG finds only upright faces: none in the photo as stored, one once it is turned."""
    portrait = Image.open(sample("face_recognition/obama.jpg")).convert("RGB")
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    stored = encode(portrait.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif, quality=92)
    assert face_model.faces(np.asarray(Image.open(io.BytesIO(stored)).convert("RGB"))) == []
    [face] = face_model.faces(decode_image(stored))
    assert face.roll == pytest.approx(0, abs=15)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_iphone_heic_and_avif_photos_are_read(face_model, sample, fmt):
    photo = Image.open(sample("face_recognition/obama.jpg")).convert("RGB")
    data = encode(photo, fmt, quality=80)
    assert data[4:12] in (b"ftypheic", b"ftypavif")  # the real container, as phones write it
    rgb = decode_image(data)
    assert rgb.shape == (photo.height, photo.width, 3)
    assert np.abs(rgb.astype(np.int16) - np.asarray(photo, dtype=np.int16)).mean() < 6
    [face] = face_model.faces(rgb)
    [reference] = face_model.faces(np.asarray(photo))
    assert np.linalg.norm(face.embedding - reference.embedding) < 0.1  # the same face, not just a face


def phone_photo(sample) -> bytes:
    """A 48 MP phone JPEG (8064x6048) made of a real face photo, upscaled and padded."""
    face = Image.open(sample("face_recognition/obama.jpg")).convert("RGB")
    canvas = Image.new("RGB", PHONE_48_MP, (96, 110, 124))
    face = face.resize((face.width * 4, face.height * 4), Image.BICUBIC)
    canvas.paste(face, ((PHONE_48_MP[0] - face.width) // 2, (PHONE_48_MP[1] - face.height) // 2))
    return encode(canvas, "JPEG", quality=90)


def test_a_48_megapixel_phone_jpeg_is_read_at_half_scale(face_model, sample):
    data = phone_photo(sample)
    assert len(data) < 20 * 2**20
    rgb = decode_image(data)
    assert rgb.shape == (PHONE_48_MP[1] // 2, PHONE_48_MP[0] // 2, 3)
    [face] = face_model.faces(rgb)
    assert face.box[2] - face.box[0] > 500  # the 3640 px face at half scale


def test_a_48_megapixel_jpeg_never_holds_the_full_image_in_memory(sample, tmp_path):
    """Decoded whole, 8064x6048 RGB is 146 MB (and copies of it); at half scale it is 37 MB."""
    photo = tmp_path / "phone.jpg"
    photo.write_bytes(phone_photo(sample))
    script = textwrap.dedent(  # VmHWM: this process's peak resident memory (ru_maxrss would count pytest's)
        f"""
        import re
        from lookalike.engine.imaging import decode_image
        def peak_kb():
            return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
        data = open({str(photo)!r}, "rb").read()
        before = peak_kb()
        decode_image(data)
        print((peak_kb() - before) // 1024)
        """
    )
    grown_mb = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    assert grown_mb < 140, f"decoding took {grown_mb} MB more memory"


def test_a_jpeg_declaring_400_megapixels_is_refused_before_decoding(portrait):
    data = bytearray(encode(portrait, "JPEG"))
    sof = data.index(b"\xff\xc0")  # baseline frame header: length(2) precision(1) height(2) width(2)
    data[sof + 5 : sof + 9] = (20_000).to_bytes(2, "big") + (20_000).to_bytes(2, "big")
    with pytest.raises(ImageError) as caught:
        decode_image(bytes(data))
    assert caught.value.reason == ImageError.TOO_MANY_PIXELS


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", ImageError.EMPTY),
        (b"hello, this is a text message and not a photo\n" * 10, ImageError.NOT_AN_IMAGE),
        (b"%PDF-1.4\n" + bytes(2000), ImageError.NOT_AN_IMAGE),
    ],
)
def test_non_images_are_rejected(data, reason):
    with pytest.raises(ImageError) as caught:
        decode_image(data)
    assert caught.value.reason == reason


def test_truncated_jpeg_is_rejected(sample):
    data = sample("face_recognition/obama.jpg").read_bytes()
    with pytest.raises(ImageError) as caught:
        decode_image(data[: len(data) // 2])
    assert caught.value.reason == ImageError.TRUNCATED


def test_decompression_bomb_is_rejected_before_decoding():
    bomb = encode(Image.new("L", (10_000, 10_000)), "PNG")  # 100 megapixels in ~100 KB
    assert len(bomb) < 1_000_000
    with pytest.raises(ImageError) as caught:
        decode_image(bomb)
    assert caught.value.reason == ImageError.TOO_MANY_PIXELS


def test_oversized_file_is_rejected(portrait):
    with pytest.raises(ImageError) as caught:
        decode_image(encode(portrait, "PNG"), max_bytes=1000)
    assert caught.value.reason == ImageError.TOO_LARGE
