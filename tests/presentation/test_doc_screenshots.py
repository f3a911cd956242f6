"""The widget guide's pictures are the ones the browser tests take: every image it shows
is in docs/images and named in ``screenshots.DOC_SHOTS`` (so ``make screenshots``
renews it), and every one named there is shown and present."""

from __future__ import annotations

import re
from pathlib import Path

from tests.presentation.screenshots import DOC_SHOTS, PNG

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_guides_pictures_are_the_tests_screenshots() -> None:
    guide = (DOCS / "widget-guide.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"!\[[^\]]+\]\(images/([^)]+)\)", guide))
    assert shown == DOC_SHOTS
    for name in sorted(shown):
        image = DOCS / "images" / name
        assert image.is_file(), f"{image} is missing: run make screenshots"
        assert image.read_bytes().startswith(PNG), name
