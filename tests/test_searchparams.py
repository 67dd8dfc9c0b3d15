"""String matching form for search (``searchparams.normalize``)."""

import re
import string
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.store.searchparams import normalize

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(codec="utf-8"), max_size=40) | st.text(string.printable, max_size=40))
def test_normalize_is_accents_removed_case_folded_spaces_collapsed(text: str) -> None:
    """The ASCII shortcut gives what the full Unicode route gives."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    assert normalize(text) == re.sub(r"\s+", " ", stripped.casefold()).strip()


def test_normalize_worked_by_hand() -> None:
    assert normalize("  Café   Côté\tFOLLOW-up ") == "cafe cote follow-up"
