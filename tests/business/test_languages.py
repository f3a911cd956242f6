"""The widget's language in the tenant's configuration (``business.languages``)."""

from __future__ import annotations

import pytest

from business.errors import InvalidInput
from business.languages import LANGUAGES, agent_language, check_language
from business.widget_config import effective_document, validate_document


def test_the_language_defaults_to_auto_and_takes_every_language_the_widget_has() -> None:
    assert validate_document({})["language"] == "auto"
    for language in LANGUAGES:
        assert validate_document({"language": language})["language"] == language
    # Stored before languages existed: the widget gets "auto".
    old = validate_document({})
    del old["language"]
    assert effective_document(old)["language"] == "auto"


@pytest.mark.parametrize("bad", ["xx", "EN", "de-DE", "", None, 1])
def test_an_unknown_language_is_refused_naming_the_choices(bad: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_document({"language": bad})
    message = str(caught.value)
    assert message.startswith("language: ")
    assert "auto, en, de, fr, es, ar" in message
    with pytest.raises(InvalidInput, match="not a language the widget has"):
        check_language(bad)


def test_agents_get_the_tenants_language_and_english_for_auto() -> None:
    assert agent_language({"language": "ar"}) == "ar"
    assert agent_language({"language": "auto"}) == "en"
    assert agent_language({}) == "en"
