"""PDF helpers shared by receipts, reports and plan outputs.

reportlab embeds TrueType outlines only; the bundled IPAex Gothic (.ttf, IPA Font
License, see ``fonts/IPAexGothic-LICENSE.txt``) is registered once and embedded
(subset) in every PDF, so Japanese prints the same on any machine.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_NAME = "IPAexGothic"
FONT_PATH = Path(__file__).parent / "fonts" / "ipaexg.ttf"


def register_fonts() -> str:
    """Register the Japanese font with reportlab (idempotent); return its name."""
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_PATH)))
    return FONT_NAME
