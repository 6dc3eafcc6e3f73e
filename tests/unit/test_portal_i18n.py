"""Every French text of the portal has an English translation, and every translation is used."""

from __future__ import annotations

import json
import re
from pathlib import Path

from portal.i18n import LOCALES, catalogue, language_of, translator

PORTAL = Path(__file__).resolve().parents[2] / "portal"
# `_("…")` in templates and `N_("…")` / `_("…")` in Python, with either quote.
MARKED = re.compile(r"""\bN?_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")


def marked_texts() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in [*PORTAL.rglob("*.html"), *PORTAL.rglob("*.py")]:
        for match in MARKED.finditer(path.read_text(encoding="utf-8")):
            text = match[1] if match[1] is not None else match[2]
            found.setdefault(text.replace("\\'", "'").replace('\\"', '"'), path)
    return found


def test_every_marked_text_has_an_english_translation() -> None:
    english = catalogue("en")
    missing = {
        text: str(path.relative_to(PORTAL))
        for text, path in marked_texts().items()
        if text not in english
    }
    assert missing == {}


def test_no_translation_is_left_unused() -> None:
    used = set(marked_texts())
    unused = {}
    for path in (LOCALES / "en").glob("*.json"):
        for text in json.loads(path.read_text(encoding="utf-8")):
            if text not in used:
                unused[text] = path.name
    assert unused == {}


def test_french_is_the_source_and_english_is_looked_up() -> None:
    assert translator("fr")("Mot de passe") == "Mot de passe"
    assert translator("en")("Mot de passe") == "Password"
    assert translator("en")("Pas au catalogue") == "Pas au catalogue"


def test_the_language_is_the_visitors_choice_then_their_browsers() -> None:
    assert language_of("en", "fr-FR,fr;q=0.9") == "en"
    assert language_of(None, "en-GB,en;q=0.9") == "en"
    assert language_of(None, "de-DE,it;q=0.5") == "fr"
    assert language_of("xx", None) == "fr"
