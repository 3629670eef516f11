"""Pictures of text sent on purpose (PNG, JPEG, TIFF, GIF, WebP, BMP): a photographed page, a scan saved as
an image, a screenshot of a slide, read by OCR (:mod:`index.ingest.extract.ocr`, the ``ocr`` extra) as a
scanned PDF's pages are, and through the same layout rules. A multi-page TIFF (a fax, a document scanner's
output) is a page a frame; an animated GIF or WebP is its first frame.

Only an image uploaded, or named by itself to ``semsearch index``, is read: in a folder or a ZIP, images are
icons, photographs and figures beside the text (seconds each to read for little), and are passed over as
before. Without the extra an image is refused with what to install.
"""

from __future__ import annotations

import io
import itertools
import warnings
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from index.ingest.extract import layout, ocr
from index.ingest.extract.base import (
    PAGE_BREAK,
    CorruptFileError,
    Extracted,
    NoTextError,
    UnsupportedFormatError,
)

# Suffixes of the pictures read, and how each kind's bytes start.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".webp", ".bmp")
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
# The most pixels a picture (each frame) may hold: a page scanned at 1,200 dpi is 140 million; the decoded
# frame takes a byte a pixel in grey, and Pillow refuses twice its own bound (89 million) as a bomb anyway.
MAX_PIXELS = 150_000_000
# What to do without the ocr extra.
NOT_INSTALLED = (
    "an image; reading pictures of text needs semsearch's ocr extra (pip install 'semsearch[ocr]'), which is "
    "not installed here: upload the text, or install it"
)


def is_image(data: bytes, name: str) -> bool:
    """Whether ``data`` is a picture of a kind read here: by its first bytes, or (a BMP, whose two-byte mark
    text may start with) by its name as well."""
    if data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return True
    return data.startswith(b"BM") and PurePath(name).suffix.lower() == ".bmp"


def read_when_named(name: str) -> bool:
    """Whether a file of this name, named by itself (not found in a folder), is read: an image, with OCR."""
    return PurePath(name).suffix.lower() in IMAGE_SUFFIXES and ocr.available()


def extract_image(data: bytes, name: str) -> Extracted:
    if not ocr.available():
        raise UnsupportedFormatError(f"{name}: {NOT_INSTALLED}")
    pages = [ocr.page_lines(frame) for frame in frames(data, name)]
    if not any(line.strip() for page in pages for line in page):
        raise NoTextError(f"{name}: OCR found no text in the picture")
    text = layout.pages_text(pages, PAGE_BREAK)
    return Extracted(
        text=text,
        title=None,
        format="image",
        pages=len(pages) if len(pages) > 1 else None,
        fields={"ocr_pages": len(pages)},
    )


def frames(data: bytes, name: str) -> Iterator[Any]:
    """The pages of a picture as OCR reads them (PIL images in grey, no larger than
    :data:`~index.ingest.extract.ocr.MAX_SIDE`), decoded one at a time: a TIFF's frames, another picture's
    first. Raises :class:`CorruptFileError` for a picture too large, of too many pages, or that does not
    decode."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # Pillow's warning of a large picture: bounded here instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
        with picture:
            width, height = picture.size
            if width * height > MAX_PIXELS:
                raise CorruptFileError(
                    f"{name}: a picture of {width:,} x {height:,} pixels, more than the {MAX_PIXELS:,} read"
                )
            count = getattr(picture, "n_frames", 1) if picture.format == "TIFF" else 1
            if count > ocr.MAX_PAGES:
                raise CorruptFileError(
                    f"{name}: a TIFF of {count:,} pages, more than the {ocr.MAX_PAGES:,} OCR reads from one "
                    "file (seconds a page); split it"
                )
            for frame in itertools.islice(ImageSequence.Iterator(picture), count):
                grey = frame.convert("L")
                scale = ocr.MAX_SIDE / max(grey.size)
                if scale < 1:
                    grey = grey.resize(
                        (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
                    )
                yield grey
    except CorruptFileError:
        raise
    except UnidentifiedImageError:
        raise CorruptFileError(
            f"{name}: not a readable picture (it starts as one, but Pillow cannot make out its kind)"
        ) from None
    except Image.DecompressionBombError as error:
        raise CorruptFileError(f"{name}: not a readable picture ({error})") from None
    except Exception as error:
        # Pillow's readers, on a damaged or cut file: OSError, ValueError, EOFError and SyntaxError, and
        # for a damaged TIFF's tags KeyError and TypeError too (found by tests/index/test_extract_fuzz.py)
        problem = f"{type(error).__name__}: {error}"
        raise CorruptFileError(f"{name}: a damaged {_kind_of(name)} ({problem})") from None


def _kind_of(name: str) -> str:
    suffix = PurePath(name).suffix.lower().lstrip(".")
    return f"{suffix.upper()} picture" if suffix else "picture"
