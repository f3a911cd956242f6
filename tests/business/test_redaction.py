"""The PII redaction rule (``business.redaction``), with the real phone finder."""

from __future__ import annotations

import pytest

from business.errors import InvalidInput
from business.redaction import (
    CustomPattern,
    RedactionSettings,
    Redactor,
    check_settings,
    iban_valid,
    luhn_valid,
)
from chat_engine.phone_numbers import LibPhoneNumberFinder

DEFAULT = Redactor(RedactionSettings())


def redact(text: str, **settings: object) -> str:
    redactor = Redactor(RedactionSettings(**settings), LibPhoneNumberFinder())  # type: ignore[arg-type]
    return redactor.redact(text).text


# -- cards ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111111111111111", "************1111"),
        ("my card: 4111 1111 1111 1111.", "my card: **** **** **** 1111."),
        ("5500-0000-0000-0004 ok", "****-****-****-0004 ok"),
        ("amex 3782 822463 10005", "amex **** ****** *0005"),
        ("two 4111111111111111 and 5555555555554444", "two ************1111 and ************4444"),
        # The shortest: 13 digits, and nothing else in the text has a digit.
        ("old visa 4222222222222", "old visa *********2222"),
    ],
)
def test_luhn_valid_card_numbers_keep_only_their_last_four_digits(text: str, expected: str) -> None:
    result = DEFAULT.redact(text)
    assert result.text == expected
    assert result.kinds == ("card",)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # one digit off: Luhn-invalid
        "order 1234567890123",
        "call 030 1234 5678",
        "2024-01-05 12:30 total 19.99",
        # A reference longer than any card whose inner digits pass Luhn is left whole.
        "ref 94111111111111111",
    ],
)
def test_numbers_that_are_no_card_are_left_alone(text: str) -> None:
    assert not luhn_valid("4111111111111112")
    result = DEFAULT.redact(text)
    assert result.text == text
    assert result.kinds == ()


def test_a_card_after_another_number_is_still_masked() -> None:
    text = DEFAULT.redact("order 12 4111 1111 1111 1111").text
    assert "4111" not in text
    assert text.endswith("1111")
    assert text.count("*") >= 12


# -- IBANs ----------------------------------------------------------------------------


def test_valid_ibans_keep_their_last_four_characters() -> None:
    assert iban_valid("DE89370400440532013000")
    result = DEFAULT.redact("pay to DE89 3704 0044 0532 0130 00 today")
    assert result.text == "pay to **** **** **** **** **30 00 today"
    assert result.kinds == ("iban",)


def test_ibans_written_compact_or_lower_case_and_several_in_one_text() -> None:
    result = DEFAULT.redact("gb82west12345698765432 or FR1420041010050500013M02606!")
    assert result.text == "******************5432 or ***********************2606!"


def test_an_iban_with_a_wrong_check_is_left_alone() -> None:
    text = "DE88 3704 0044 0532 0130 00"
    assert DEFAULT.redact(text).text == text


# -- optional kinds -------------------------------------------------------------------


def test_email_addresses_and_phone_numbers_stay_unless_the_tenant_asks() -> None:
    text = "write to jo.doe+x@example.co.uk or call +49 30 1234567"
    assert DEFAULT.redact(text).text == text
    assert redact(text, emails=True) == "write to **.***+*@*******.**.** or call +49 30 1234567"
    assert redact(text, phones=True) == "write to jo.doe+x@example.co.uk or call +** ** *******"


def test_national_phone_numbers_need_the_tenants_region() -> None:
    text = "call 030 12345678 on 2024-01-05"
    assert redact(text, phones=True) == text
    assert redact(text, phones=True, phone_region="DE") == "call *** ******** on 2024-01-05"


def test_custom_patterns_mask_their_matches_and_are_reported_by_name() -> None:
    redactor = Redactor(RedactionSettings(patterns=(CustomPattern("policy", r"POL-\d{6}"),)))
    result = redactor.redact("my policy POL-123456, card 4111111111111111")
    assert result.text == "my policy ***-******, card ************1111"
    assert result.kinds == ("card", "custom:policy")


def test_nothing_to_mask_returns_the_same_text() -> None:
    result = Redactor(RedactionSettings(emails=True)).redact("Hello, where is my parcel?")
    assert result.text == "Hello, where is my parcel?"
    assert result.kinds == ()


def test_phone_redaction_needs_a_finder() -> None:
    with pytest.raises(ValueError, match="PhoneFinder"):
        Redactor(RedactionSettings(phones=True))


# -- settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (RedactionSettings(phone_region="germany"), "two-letter ISO 3166"),
        (RedactionSettings(patterns=(CustomPattern("x", "("),)), "no regular expression"),
        (RedactionSettings(patterns=(CustomPattern("x", "a*"),)), "matches the empty text"),
        (RedactionSettings(patterns=(CustomPattern("Bad Name", "a"),)), "lower-case letters"),
        (RedactionSettings(patterns=(CustomPattern("x", "a"), CustomPattern("x", "b"))), "two"),
        (RedactionSettings(patterns=(CustomPattern("x", "a" * 201),)), "1 to 200 characters"),
        # PostgreSQL cannot store a NUL (found by the REST schema test: a 500 before).
        (RedactionSettings(patterns=(CustomPattern("x", "a\x00"),)), "NUL"),
        (
            RedactionSettings(patterns=tuple(CustomPattern(f"p{i}", "a") for i in range(21))),
            "at most 20",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_problem(
    settings: RedactionSettings, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_settings(settings)


def test_long_runs_of_grouped_digits_are_scanned_without_blowing_up() -> None:
    # Every group start is a candidate; each is scanned at most 19 digits ahead, so this
    # stays linear in the text. 4000 characters is the longest message.
    text = "1 " * 2000
    assert DEFAULT.redact(text).text == text
