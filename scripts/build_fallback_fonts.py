"""Build the dashboard's bundled fallback fonts (CJK and emoji) from Debian's Noto packages.

Flutter web ships only Roboto and fetches every other script from Google Fonts, which a
console without internet access cannot reach: tenant and user names in Chinese, Japanese,
Korean or with emoji would draw as empty boxes. This subsets the Noto fonts to the commonly
used characters so the files stay small enough to ship with the dashboard's assets.

    apt-get install -y fonts-noto-cjk fonts-noto-color-emoji
    pip install "fonttools[woff]" pillow   # or: pip install -e ".[dev]"
    python scripts/build_fallback_fonts.py

Writes src/console/dashboard/assets/fonts/{NotoSansCJK-Subset.woff2,NotoColorEmoji-Subset.ttf}
(WOFF2 for the outlines: 30 % smaller than the OTF, and Flutter's renderers read it; the emoji
are PNGs, which WOFF2 would not shrink).
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "console" / "dashboard" / "assets" / "fonts"
CJK_SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FACE = "Noto Sans CJK SC"  # every face holds all glyphs; SC shapes for shared Han
EMOJI_SOURCE = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
# The emoji bitmaps are 136x128 px (109 ppem); half that is still sharp at 24 px on a 2x screen
# and a third of the bytes.
EMOJI_SCALE = 0.5

CJK_RANGES = (
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),  # katakana phonetic extensions
    (0xFF00, 0xFFEF),  # full-width and half-width forms
)
EMOJI_RANGES = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x2049),
    (0x2122, 0x2139),
    (0x2194, 0x21AA),
    (0x231A, 0x23FF),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25FE),
    (0x2600, 0x27BF),  # miscellaneous symbols, dingbats
    (0x2934, 0x2935),
    (0x2B05, 0x2B55),
    (0x3030, 0x303D),
    (0x3297, 0x3299),
    (0x1F004, 0x1F0CF),
    (0x1F170, 0x1F19A),
    (0x1F300, 0x1F3FA),  # pictographs (without the skin-tone modifiers)
    (0x1F400, 0x1F64F),  # animals, objects, smileys
    (0x1F680, 0x1F6FF),  # transport and map
    (0x1F7E0, 0x1F7EB),
    (0x1F90C, 0x1F9FF),  # supplemental symbols and pictographs
    (0x1FA70, 0x1FAFF),
    (0xFE0F, 0xFE0F),  # emoji presentation selector
)


def double_byte(codec: str, rows: range, cells: range = range(0xA1, 0xFF)) -> Iterator[int]:
    """The characters of an EUC-style two-byte character set, row by row."""
    for row in rows:
        for cell in cells:
            try:
                text = bytes((row, cell)).decode(codec)
            except UnicodeDecodeError:
                continue
            yield from (ord(c) for c in text)


def spans(ranges: Iterable[tuple[int, int]]) -> Iterator[int]:
    for first, last in ranges:
        yield from range(first, last + 1)


def cjk_characters() -> set[int]:
    """GB2312 (common simplified Chinese), JIS X 0208 level 1 (common kanji), KS X 1001
    Hangul (the 2,350 common syllables), with kana and CJK punctuation."""
    chars = set(spans(CJK_RANGES))
    chars |= set(double_byte("gb2312", range(0xA1, 0xF8)))
    chars |= set(double_byte("euc_jp", range(0xA1, 0xD0)))
    chars |= set(double_byte("euc_kr", range(0xA1, 0xC9)))
    return {c for c in chars if c > 0x7F}


def subset_font(
    font: TTFont,
    unicodes: set[int],
    out: Path,
    *,
    layout: list[str],
    scale: float = 1.0,
) -> None:
    options = subset.Options()
    options.layout_features = layout
    options.hinting = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # names, copyright and the OFL notice
    options.notdef_outline = True
    options.drop_tables += ["DSIG", "vhea", "vmtx", "VORG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes & set(font.getBestCmap()))
    subsetter.subset(font)
    if scale != 1.0:
        shrink_bitmaps(font, scale)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.recalcTimestamp = False  # the same sources give the same bytes
    if out.suffix == ".woff2":
        font.flavor = "woff2"
    font.save(out)
    print(f"{out}: {len(font.getBestCmap())} characters, {out.stat().st_size:,} B")


def shrink_bitmaps(font: TTFont, scale: float) -> None:
    """Scale a CBDT colour bitmap font's PNGs and their metrics (advances stay in font units)."""
    for strike, glyphs in zip(font["CBLC"].strikes, font["CBDT"].strikeData, strict=True):
        sizes = strike.bitmapSizeTable
        sizes.ppemX = sizes.ppemY = round(sizes.ppemX * scale)
        for line in (sizes.hori, sizes.vert):
            for name in ("ascender", "descender", "widthMax"):
                setattr(line, name, round(getattr(line, name) * scale))
        for glyph in glyphs.values():
            glyph.ensureDecompiled()
            metrics = glyph.metrics
            image = Image.open(io.BytesIO(glyph.imageData))
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            out = io.BytesIO()
            image.resize(size, Image.Resampling.LANCZOS).save(out, "PNG", optimize=True)
            glyph.imageData = out.getvalue()
            metrics.width, metrics.height = size
            for name in ("BearingX", "BearingY", "Advance"):
                setattr(metrics, name, round(getattr(metrics, name) * scale))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    faces = TTCollection(str(CJK_SOURCE)).fonts
    cjk = next(f for f in faces if f["name"].getDebugName(4) == CJK_FACE)
    subset_font(cjk, cjk_characters(), args.out / "NotoSansCJK-Subset.woff2", layout=["locl"])

    emoji = TTFont(str(EMOJI_SOURCE))
    # 'ccmp' keeps keycaps and emoji-with-selector sequences; no ZWJ families, flags or
    # skin tones (their parts are left out, so the subsetter drops them).
    subset_font(
        emoji,
        set(spans(EMOJI_RANGES)),
        args.out / "NotoColorEmoji-Subset.ttf",
        layout=["ccmp"],
        scale=EMOJI_SCALE,
    )


if __name__ == "__main__":
    main()
