"""A small flat SVG status badge (label | message) for READMEs and wikis, drawn by hand. Pure."""

from __future__ import annotations

from xml.sax.saxutils import escape

# Verdana 11px averages about 6.5 px a character; the badge only needs to be roughly right.
_CHAR_PX = 6.5
_PAD_PX = 10


def _width(text: str) -> int:
    return round(len(text) * _CHAR_PX) + 2 * _PAD_PX


def badge_svg(label: str, message: str, colour: str) -> str:
    """An SVG badge; `colour` is a hex colour for the message half."""
    left, right = _width(label), _width(message)
    total = left + right
    label_x, message_x = left / 2, left + right / 2
    # The texts are also attribute values (aria-label, fill), so quotes are escaped too.
    label, message, colour = (escape(text, {'"': "&quot;"}) for text in (label, message, colour))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{label}: {message}"><title>{label}: {message}</title>'
        f'<rect width="{left}" height="20" rx="3" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" rx="3" fill="{colour}"/>'
        f'<rect x="{left}" width="4" height="20" fill="{colour}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{label_x}" y="14">{label}</text><text x="{message_x}" y="14">{message}</text></g></svg>'
    )
