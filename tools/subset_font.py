"""Make app/fonts/: the page's own font, subset to what Wetron draws, as WOFF2.

The graph is drawn (app/text.js) and exported (app/export.js) in DejaVu Sans, so an
exported SVG/PNG looks like the screen and carries its font with it. DejaVu Sans rather
than Liberation Sans: it holds the brackets and arrows the labels use (⟨ ⟩ ▸ ↳), which
Liberation Sans 2 lacks. Characters outside the subset fall back to the system fonts.

Regenerate (dev time only; fontTools is not a runtime dependency):
    apt-get install fonts-dejavu-core && pip install fonttools brotli
    python tools/subset_font.py
"""
import os

from fontTools import subset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = "/usr/share/fonts/truetype/dejavu"
FONTS = {"DejaVuSans-Regular.woff2": "DejaVuSans.ttf", "DejaVuSans-Bold.woff2": "DejaVuSans-Bold.ttf"}
LICENSE = "/usr/share/doc/fonts-dejavu-core/copyright"

RANGES = [
    (0x0020, 0x007E),   # Basic Latin
    (0x00A0, 0x00FF),   # Latin-1 Supplement (µ ± × · ² ³ é ü ...)
    (0x0100, 0x017F),   # Latin Extended-A
    (0x0370, 0x03FF),   # Greek
    (0x2010, 0x2027),   # dashes, quotes, bullet, ellipsis
    (0x2030, 0x203A),   # per mille, primes, angle quotes (›)
    (0x2070, 0x209F),   # superscripts and subscripts
    (0x2190, 0x21B3),   # arrows (→ ↳)
    (0x2200, 0x22FF),   # mathematical operators (≤ ≥ ∑ ≈ √ ∞ ...)
    (0x25A0, 0x25CF),   # geometric shapes (▸ ▾ ■ ●)
    (0x27E8, 0x27E9),   # ⟨ ⟩ around tensor shapes
]
EXTRA = "€™−ƒ"


def unicodes():
    out = {c for a, b in RANGES for c in range(a, b + 1)}
    return sorted(out | {ord(c) for c in EXTRA})


def main():
    out_dir = os.path.join(ROOT, "app", "fonts")
    os.makedirs(out_dir, exist_ok=True)
    for out, src in FONTS.items():
        options = subset.Options()
        options.flavor = "woff2"
        options.hinting = False          # the page rasterises at 32 px and scales an SDF
        options.layout_features = []     # no kerning/ligatures: the page places glyph by glyph
        options.name_IDs = ["*"]         # keep the copyright and licence names
        options.notdef_outline = True
        font = subset.load_font(os.path.join(SOURCE, src), options)
        sub = subset.Subsetter(options)
        sub.populate(unicodes=unicodes())
        sub.subset(font)
        path = os.path.join(out_dir, out)
        subset.save_font(font, path, options)
        print(f"{path}: {len(font.getBestCmap())} characters, {os.path.getsize(path)} bytes")
    # The licence of the font files: the fonts' stanza of Debian's copyright file
    # (the packaging's own GPL stanza after it is not about the fonts).
    with open(LICENSE) as f:
        text = f.read().split("\nFiles: debian/")[0]
    with open(os.path.join(out_dir, "LICENSE"), "w") as f:
        f.write("DejaVu Sans 2.37 (https://dejavu-fonts.github.io/), subset by tools/subset_font.py:\n"
                "DejaVuSans-Regular.woff2, DejaVuSans-Bold.woff2.\n\n")
        f.write(text.split("\nFiles: *\n", 1)[1].strip() + "\n")


if __name__ == "__main__":
    main()
