"""``business.redaction.PhoneFinder`` on Google's libphonenumber (the ``phonenumbers``
package): only numbers valid in their numbering plan count, so a date, a price or an
order number is left alone."""

from __future__ import annotations

from collections.abc import Sequence

import phonenumbers

# libphonenumber's "unknown region": only numbers written with their country code match.
_NO_REGION = "ZZ"


class LibPhoneNumberFinder:
    def find(self, text: str, region: str | None) -> Sequence[tuple[int, int]]:
        matcher = phonenumbers.PhoneNumberMatcher(
            text, region or _NO_REGION, leniency=phonenumbers.Leniency.VALID
        )
        return [(match.start, match.end) for match in matcher]
