"""Scanned PDFs read by OCR: how well and how fast (docs/benchmarks.md, "Scanned PDFs").

SciFact abstracts are typeset onto A4 pages (a serif font, 11 pt unless ``--points``; 200 dpi, greyscale),
then made to look scanned: turned by a fraction of a degree, speckled with noise and saved as JPEG, one
picture per page and no text layer. Each PDF goes through ``index.ingest.extract.extract`` as an upload
would, and its text is compared with what was typeset, word by word in order (difflib): the share of the
words read right. The time is the extraction's wall time over the pages, on the one core OCR uses.

    .venv/bin/python bench/ocr.py --corpus path/to/scifact/corpus.jsonl --pages 20
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import random
import re
import statistics
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from index.ingest.extract import extract, ocr

DPI = 200
WIDTH, HEIGHT = 1654, 2339  # A4 at 200 dpi
MARGIN = 190
WRAP, LEADING = 78, 44  # characters a line, pixels from one line to the next (for 11 pt)
SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def page_image(text: str, font: Font, rng: random.Random) -> Image.Image:
    image = Image.new("L", (WIDTH, HEIGHT), 255)
    draw = ImageDraw.Draw(image)
    y = MARGIN
    for paragraph in text.split("\n\n"):
        for line in textwrap.wrap(paragraph, WRAP):
            draw.text((MARGIN, y), line, fill=20, font=font)
            y += LEADING
        y += 30
    image = image.rotate(rng.uniform(-0.8, 0.8), fillcolor=255, resample=Image.Resampling.BILINEAR)
    noise = Image.effect_noise((WIDTH, HEIGHT), 40).point(lambda v: 255 if v > 30 else 0)  # 0.7% specks
    image = Image.composite(image, Image.new("L", image.size, 110), noise).filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return Image.open(io.BytesIO(out.getvalue()))


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--corpus", type=Path, required=True, help="a BEIR corpus.jsonl (SciFact's)")
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--points", type=float, default=11.0, help="the font's size")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    size = round(args.points * DPI / 72)
    font: Font = (
        ImageFont.truetype(SERIF, size) if Path(SERIF).exists() else ImageFont.load_default(size=size)
    )
    global WRAP, LEADING
    WRAP, LEADING = round(78 * 11 / args.points), round(size * 1.42)
    texts = []
    with args.corpus.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if len(record["text"]) > 1200:
                texts.append(f"{record['title']}\n\n{record['text'][:2400]}")
            if len(texts) == args.pages:
                break
    extract(page_pdf(texts[:1], font, rng), "warm-up.pdf")  # the engine's first load is not a page's time
    accuracy, seconds = [], []
    for text in texts:
        data = page_pdf([text], font, rng)
        started = time.perf_counter()
        read = extract(data, "scan.pdf").text
        seconds.append(time.perf_counter() - started)
        expected, found = words(text), words(read)
        blocks = difflib.SequenceMatcher(None, expected, found, autojunk=False).get_matching_blocks()
        matched = sum(block.size for block in blocks)
        accuracy.append(matched / len(expected))
    print(
        json.dumps(
            {
                "points": args.points,
                "dpi_read": ocr.RESOLUTION,
                "pages": len(texts),
                "words_per_page": round(statistics.median(len(words(t)) for t in texts)),
                "word_accuracy_median": round(statistics.median(accuracy), 4),
                "word_accuracy_worst": round(min(accuracy), 4),
                "seconds_per_page_median": round(statistics.median(seconds), 2),
                "seconds_per_page_max": round(max(seconds), 2),
            }
        )
    )


def page_pdf(texts: list[str], font: Font, rng: random.Random) -> bytes:
    images = [page_image(text, font, rng) for text in texts]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=images[1:])
    return out.getvalue()


if __name__ == "__main__":
    main()
