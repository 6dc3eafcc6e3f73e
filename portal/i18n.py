"""Pages are written in French; English comes from catalogues keyed by the French text.

Each area of the portal keeps its own catalogue (`locales/en/AREA.json`), so the texts
of a page live next to its kind; a unit test checks that every text marked for translation in
the templates and page modules has an English entry, and that no entry is unused.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LOCALES = Path(__file__).parent / "locales"


@cache
def catalogue(language: str) -> dict[str, str]:
    """French text → text in `language` (empty for French)."""
    merged: dict[str, str] = {}
    for path in sorted((LOCALES / language).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def N_(text: str) -> str:  # the gettext convention
    """Mark a French text kept in Python (labels, choices) for translation where shown."""
    return text


def translator(language: str):  # type: ignore[no-untyped-def]
    """`_` for templates: the text in `language`, French when not translated."""
    texts = catalogue(language) if language != DEFAULT_LANGUAGE else {}

    def _(text: str) -> str:
        return texts.get(text, text)

    return _


def language_of(preferred: str | None, accept_language: str | None) -> str:
    """The visitor's language: their choice, else their browser's first known one."""
    if preferred in LANGUAGES:
        return preferred
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE
