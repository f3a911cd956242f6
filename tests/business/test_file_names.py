"""``safe_name``: what is left of a file name a visitor's browser or an agent's client
sent, before it goes in a header, a link and a transcript."""

from __future__ import annotations

import pytest

from business.files import safe_name


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("photo.png", "photo.png"),
        ("C:\\Users\\ann\\photo.png", "photo.png"),
        ("../../etc/passwd", "passwd"),
        ('say "hi".txt', "say _hi_.txt"),
        ("a\r\nSet-Cookie: x.txt", "a__Set-Cookie: x.txt"),
        # A right-to-left override would make it read "invoiceexe.png".
        ("invoice\u202egnp.exe", "invoice_gnp.exe"),
        ("a\u2066b\u2069\u200f.pdf", "a_b__.pdf"),
        ("<img src=x onerror=alert(1)>.png", "<img src=x onerror=alert(1)>.png"),
        ("...", "file"),
    ],
)
def test_names_keep_no_path_no_controls_and_no_bidi_tricks(sent: str, kept: str) -> None:
    assert safe_name(sent) == kept
