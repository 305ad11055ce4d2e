"""kiosk: the operators' Textual app on the van (screens and widgets only)."""

from kiosk import wide_chars

wide_chars.apply()  # Japanese text stays whole under overlays (see kiosk.wide_chars)
