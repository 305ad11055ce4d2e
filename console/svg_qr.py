"""A QR code drawn on the server as inline SVG (no script, no image request)."""

from __future__ import annotations

import re

import qrcode
import qrcode.image.svg


def qr_svg(text: str, *, label: str) -> str:
    """``text`` as an ``<svg>`` element (medium error correction), titled ``label``."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=8,
        border=4,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    qr.add_data(text)
    qr.make(fit=True)
    svg = qr.make_image().to_string(encoding="unicode")
    start = svg.index("<svg")
    svg = re.sub(r'width="[^"]*" height="[^"]*"', 'width="240" height="240"', svg[start:], count=1)
    # an accessible name, and a white background so a phone or scanner reads it
    escaped = label.replace("&", "&amp;").replace("<", "&lt;")
    return svg.replace(">", f' role="img" aria-label="{escaped}" style="background:#fff">', 1)
