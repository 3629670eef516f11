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
import warnings
from pathlib import PurePath

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
    from PIL import Image, ImageSequence, UnidentifiedImageError

    pages: list[list[str]] = []
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
            kind = picture.format or "image"
            frames = getattr(picture, "n_frames", 1) if kind == "TIFF" else 1
            if frames > ocr.MAX_PAGES:
                raise CorruptFileError(
                    f"{name}: a TIFF of {frames:,} pages, more than the {ocr.MAX_PAGES:,} OCR reads from one "
                    "file (seconds a page); split it"
                )
            for frame in ImageSequence.Iterator(picture):
                if len(pages) == frames:
                    break
                pages.append(ocr.page_lines(_for_reading(frame)))
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise CorruptFileError(f"{name}: not a readable picture ({error})") from None
    except (OSError, ValueError, EOFError, SyntaxError) as error:  # Pillow's, for a damaged or cut file
        raise CorruptFileError(f"{name}: a damaged {kind_of(name)} ({error})") from None
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


def _for_reading(frame: object) -> object:
    """A frame as OCR reads it: in grey, and no larger than :data:`~index.ingest.extract.ocr.MAX_SIDE`."""
    from PIL import Image

    assert isinstance(frame, Image.Image)
    grey = frame.convert("L")
    scale = ocr.MAX_SIDE / max(grey.size)
    if scale < 1:
        grey = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))))
    return grey


def kind_of(name: str) -> str:
    suffix = PurePath(name).suffix.lower().lstrip(".")
    return f"{suffix.upper()} picture" if suffix else "picture"
