"""How often guessing a text file's legacy encoding gets it right: why semsearch reads a file that is not
UTF-8 in the encoding its sender names (``encoding``, ``--encoding``) and refuses it otherwise.

    .venv/bin/python bench/encoding_guess.py [--sizes 300 3000] [--trials 20] [--locale-dir /usr/share/locale]

Real sentences in many languages come from the system's message catalogues (the ``.mo`` files of
``/usr/share/locale``: translated program messages). For each language and a legacy encoding its users
have (Windows-1252 for French or Spanish, Windows-1250 and ISO-8859-2 for Polish, KOI8-R for Russian,
Shift JIS for Japanese...), texts of about ``--sizes`` characters are encoded in it, and charset-normalizer
(what requests and BeautifulSoup guess with) is asked which encoding they are in. A guess counts as right
when the text it decodes to is the original, character for character. Texts that are plain ASCII (valid
UTF-8 either way) are left out. Prints, per language and encoding, the right guesses out of the texts tried,
and the totals for the Western European languages (Windows-1252) and for all.
"""

from __future__ import annotations

import argparse
import gettext
import random
from collections import defaultdict
from pathlib import Path

import charset_normalizer

LANGUAGES = {
    "fr": ["cp1252", "iso-8859-1"],
    "de": ["cp1252"],
    "es": ["cp1252"],
    "it": ["cp1252"],
    "pt_BR": ["cp1252"],
    "sv": ["cp1252"],
    "pl": ["cp1250", "iso-8859-2"],
    "cs": ["cp1250", "iso-8859-2"],
    "hu": ["cp1250"],
    "tr": ["cp1254"],
    "el": ["cp1253"],
    "ru": ["cp1251", "koi8-r"],
    "uk": ["cp1251"],
    "he": ["cp1255"],
    "ar": ["cp1256"],
    "ja": ["shift_jis", "euc-jp"],
    "zh_CN": ["gbk"],
}
WESTERN = {"fr", "de", "es", "it", "pt_BR", "sv"}


def sentences(locale_dir: Path, language: str) -> list[str]:
    """The translated messages of every catalogue of ``language``, as one-line sentences."""
    found: list[str] = []
    for path in sorted((locale_dir / language / "LC_MESSAGES").glob("*.mo")):
        try:
            with path.open("rb") as catalogue:
                messages = gettext.GNUTranslations(catalogue)._catalog  # type: ignore[attr-defined]
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        found += [
            " ".join(text.split())
            for text in messages.values()
            if isinstance(text, str) and len(text) > 20 and "%" not in text
        ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 3000])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--locale-dir", type=Path, default=Path("/usr/share/locale"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    right: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    for language, encodings in LANGUAGES.items():
        pool = sentences(args.locale_dir, language)
        if len(pool) < 50:
            print(f"{language}: {len(pool)} messages, too few; left out")
            continue
        for encoding in encodings:
            for size in args.sizes:
                for _ in range(args.trials):
                    rng.shuffle(pool)
                    text = ""
                    for sentence in pool:
                        text += sentence + "\n"
                        if len(text) >= size:
                            break
                    data = text.encode(encoding, errors="ignore")
                    if data.isascii():
                        continue
                    best = charset_normalizer.from_bytes(data).best()
                    counts = right[(language, encoding, size)]
                    counts[0] += 1
                    counts[1] += best is not None and str(best) == data.decode(encoding)
    print(f"charset-normalizer {charset_normalizer.__version__}, {args.trials} texts a cell")
    print("| language | encoding | " + " | ".join(f"~{size} characters" for size in args.sizes) + " |")
    print("|---|---|" + "---|" * len(args.sizes))
    for language, encodings in LANGUAGES.items():
        for encoding in encodings:
            cells = [right.get((language, encoding, size)) for size in args.sizes]
            if not any(cells):
                continue
            shown = [f"{c[1]}/{c[0]}" if c else "-" for c in cells]
            print(f"| {language} | {encoding} | " + " | ".join(shown) + " |")
    western = {(language, "cp1252") for language in WESTERN}
    everything = {(language, encoding) for language, encodings in LANGUAGES.items() for encoding in encodings}
    for label, keep in (("Western European, Windows-1252", western), ("all", everything)):
        for size in args.sizes:
            kept = [
                v
                for (language, encoding, s), v in right.items()
                if s == size and (language, encoding) in keep
            ]
            tried, good = sum(c[0] for c in kept), sum(c[1] for c in kept)
            print(f"{label}, ~{size} characters: {good}/{tried} right ({100 * good / max(tried, 1):.0f}%)")


if __name__ == "__main__":
    main()
