"""E-mail addresses a transcript may be sent to, checked once for every way one arrives
(the visitor's request, the pre-chat form, the site's custom variables, the settings).

Deliberately narrower than RFC 5321: a dot-atom local part of ASCII (no quoted strings,
no comments) at a domain name of at least two labels (no address literals). That is what
people type in forms, and it can never smuggle a line break or a second address into a
header. A domain in another script is kept in its IDNA (``xn--``) form, which every SMTP
server takes.
"""

from __future__ import annotations

import re
from typing import Final

from business.errors import InvalidInput

MAX_LENGTH: Final = 254
"""RFC 5321's limit on a path, less the angle brackets."""
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def check_email(address: str) -> str:
    """``address`` without surrounding blanks and with its domain in lower case;
    ``InvalidInput`` naming what is wrong with it."""
    address = address.strip()
    if not address:
        raise InvalidInput("the e-mail address is empty")
    if len(address) > MAX_LENGTH:
        raise InvalidInput(f"an e-mail address has at most {MAX_LENGTH} characters")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise InvalidInput("an e-mail address looks like name@example.com")
    if len(local) > 64 or _LOCAL.fullmatch(local) is None:
        raise InvalidInput("the part of the e-mail address before the @ is not valid")
    return f"{local}@{_domain(domain)}"


def is_email(address: str) -> bool:
    try:
        check_email(address)
    except InvalidInput:
        return False
    return True


def _domain(domain: str) -> str:
    bad = InvalidInput("the domain of the e-mail address is not valid")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise bad from None
    labels = domain.lower().split(".")
    if len(labels) < 2 or any(_LABEL.fullmatch(label) is None for label in labels):
        raise bad
    if labels[-1].isdigit():
        raise bad  # an IP address, not a domain
    return ".".join(labels)
