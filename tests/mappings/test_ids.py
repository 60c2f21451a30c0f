"""mappings/ids.py: EvseID normalisation, OperatorID ⇄ OCPI party, stable OCPI ids, pool and EVSE ids."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings import ids

OICP_ID_CHARS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*", min_size=1
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BE-BEC-E041503001", "BE*BEC*E041503001"),  # the OCPI 2.1.1 example spelling
        ("BE*BEC*E041503001", "BE*BEC*E041503001"),
        (" DE*ABC*E 123 ", "DE*ABC*E123"),
        ("de*abc*e1", "DE*ABC*E1"),  # upper case: the regex's E marker, and HBS upper-cases
    ],
)
def test_normalize_evse_id(raw: str, expected: str) -> None:
    assert ids.normalize_evse_id(raw) == expected
    assert ids.is_evse_id(ids.normalize_evse_id(raw))


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("DE*AB7*E840*6487", True),
        ("DEAB7E8406487", True),
        ("+49*810*000*438", True),
        ("BE-BEC-E1", False),
        ("DE*AB7", False),
        ("DE*AB7*X1", False),
    ],
)
def test_is_evse_id_follows_the_oicp_regex(value: str, valid: bool) -> None:
    assert ids.is_evse_id(value) is valid


def test_canonical_id_ignores_case_and_separators() -> None:
    assert ids.canonical_id("de*abc*e1") == ids.canonical_id("DE-ABC-E1") == ids.canonical_id("DEABCE1")


@pytest.mark.parametrize(
    ("evse_id", "operator"),
    [("DE*ABC*E1", "DE*ABC"), ("DEABCE1", "DEABC"), ("+49*810*000*438", "+49*810"), ("nonsense", None)],
)
def test_evse_operator_id_keeps_the_spelling(evse_id: str, operator: str | None) -> None:
    assert ids.evse_operator_id(evse_id) == operator


def test_operator_party_iso_din_and_table() -> None:
    assert ids.operator_party("DE*ABC") == ("DE", "ABC")
    assert ids.operator_party("deabc") == ("DE", "ABC")
    assert ids.operator_party("+49*810") is None
    assert ids.operator_party("+49*810", {"+49*810": "DE*XYZ"}) == ("DE", "XYZ")
    assert ids.operator_id_from_party("be", "bec") == "BE*BEC"


def test_ocpi_id_verbatim_then_stripped_then_hashed() -> None:
    assert ids.ocpi_id("DE*ABC*E1") == "DE*ABC*E1"
    long = "DE*ABC*E" + "1234567890" * 3  # 38 characters, the ISO maximum
    stripped = ids.ocpi_id(long)
    assert stripped == long.replace("*", "") and len(stripped) <= 36
    hashed = ids.ocpi_id("TEST 1")  # a blank is not URL-path safe
    assert ids.is_hashed_ocpi_id(hashed) and hashed.startswith("TEST1~")
    assert not ids.is_hashed_ocpi_id(stripped)


@given(OICP_ID_CHARS | st.text(min_size=1, max_size=80))
def test_ocpi_id_is_deterministic_short_and_printable(value: str) -> None:
    result = ids.ocpi_id(value)
    assert result == ids.ocpi_id(value)
    assert 0 < len(result) <= 36
    assert re.fullmatch(r"[\x21-\x7e]+", result)


@given(st.lists(OICP_ID_CHARS.filter(lambda s: len(s) > 36), min_size=2, max_size=2, unique=True))
def test_hashed_ids_of_different_originals_differ(values: list[str]) -> None:
    assert ids.ocpi_id(values[0]) != ids.ocpi_id(values[1])


def test_charging_pool_id() -> None:
    assert ids.charging_pool_id("BE*BEC", "LOC1") == "BE*BEC*PLOC1"
    assert ids.charging_pool_id("BEBEC", "LOC1") == "BEBECPLOC1"
    pool = ids.charging_pool_id("NL*ALF", "3e7b39c2-10d0-4138-a8b3-8509a25f9920")
    assert pool is not None and re.fullmatch(ids.POOL_ID_RE, pool)
    assert pool == ids.charging_pool_id("NL*ALF", "3e7b39c2-10d0-4138-a8b3-8509a25f9920")
    assert ids.charging_pool_id("+49*810", "LOC1") is None
    assert ids.charging_pool_id("DE*ABC", "---") is None


def test_derived_evse_id() -> None:
    assert ids.derived_evse_id("DE*ABC", "3256") == "DE*ABC*E3256"
    derived = ids.derived_evse_id("DE*ABC", "eccb8dd9-4189-433e-b100-cc0945dd17dc")
    assert derived is not None and ids.is_evse_id(derived)
    assert ids.derived_evse_id("DE*ABC", "-") is None


def test_evse_uid_and_digest() -> None:
    assert ids.evse_uid("DE*ABC*E1") == "DE*ABC*E1"
    assert ids.digest_id("a", "b") == ids.digest_id("a", "b") != ids.digest_id("ab")
