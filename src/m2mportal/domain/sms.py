"""SMS text rules (CONTRACT 7.5): one message of GSM-7 up to 160 characters, or UCS-2 up
to 70 when the text needs characters outside the GSM 03.38 alphabet."""

from __future__ import annotations

# GSM 03.38 basic alphabet (one septet each) and its extension table (two septets each:
# the escape and the character).
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM_BASIC)
_EXTENSION = frozenset(GSM_EXTENSION)
GSM7_MAX = 160
UCS2_MAX = 70


def encoding(text: str) -> str:
    """``GSM-7`` when every character is in the GSM alphabet, else ``UCS-2``."""
    return "GSM-7" if all(c in _BASIC or c in _EXTENSION for c in text) else "UCS-2"


def text_problem(text: str) -> str | None:
    """Why ``text`` does not fit one SMS, or ``None``."""
    if not text:
        return "must not be empty"
    if encoding(text) == "GSM-7":
        septets = len(text) + sum(1 for c in text if c in _EXTENSION)
        if septets > GSM7_MAX:
            return f"at most {GSM7_MAX} GSM-7 characters (extension characters count twice)"
        return None
    units = len(text.encode("utf-16-le")) // 2
    if units > UCS2_MAX:
        return f"at most {UCS2_MAX} characters when it needs UCS-2 (non-GSM characters)"
    return None
