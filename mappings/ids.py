"""Identifier helpers shared by every mapping family.

Rules implemented here (docs/mappings.md, section "Identifiers"):

* **EvseID** (oicp-2.3.md §4.1; mapping.md §3.1). OCPI ``evse_id`` follows eMI3 and allows only
  ``*`` as separator (ocpi#179), yet official examples use ``-`` (2.1.1 ``BE-BEC-E041503001``).
  :func:`normalize_evse_id` turns ``-`` separators into ``*``, drops blanks and upper-cases (the
  regex's ``E`` marker is upper case and HBS upper-cases EvseIDs, hubject/oicp#114). OperatorIDs
  are kept as received (Hubject compares them with the certificate as text, mapping.md §3.1).
* **Canonical comparison** (ocpi.md §8 point 11, oicp-2.3.md §8 point 11): ids are compared
  upper-cased with every separator removed (:func:`canonical_id`), never rewritten that way.
* **OCPI ids from OICP ids** (ocpi.md §3.2: Location.id, EVSE.uid are CiString(36)).
  :func:`ocpi_id` is stable, deterministic and reversible by lookup:

  1. the OICP id unchanged, when it is at most 36 characters of URL-path-safe printable ASCII;
  2. else the id with its ``*`` separators removed, when that fits;
  3. else the first characters of that form, ``~`` and 12 base32 characters of the SHA-256 of the
     original id (``~`` never occurs in an OICP id, so a hashed id is recognisable).

  The original stays lookup-able: an EVSE keeps the EvseID in ``evse_id`` (CiString(48) holds the
  38-character maximum), and the location id of a grouped OICP site is only needed in the
  OCPI→OICP direction, which addresses EVSEs by EvseID (OICP has no location object).
* **ChargingPoolID** ``CC*OOO*P<id>`` (oicp-2.3.md §4.1, §7): operator id, ``*P`` and the location
  id with every character outside ``[A-Za-z0-9*]`` removed; longer than 30 characters → 17 of them
  and 13 characters of its SHA-256 in base32 (deterministic).
* **Derived EvseID** ``CC*OOO*E<uid>`` for an OCPI EVSE without ``evse_id``: same sanitising rule.
"""

from __future__ import annotations

import base64
import hashlib
import re

EVSE_ID_RE = re.compile(
    r"^(([A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?E[A-Za-z0-9\*]{1,30})|(\+?[0-9]{1,3}\*[0-9]{3}\*[0-9\*]{1,32}))$"
)
"""oicp-2.3.md §4.1 EvseID, ISO or DIN form."""

OPERATOR_ID_RE = re.compile(r"^(([A-Za-z]{2}\*?[A-Za-z0-9]{3})|(\+?[0-9]{1,3}\*[0-9]{3}))$")
"""oicp-2.3.md §4.1 OperatorID, ISO or DIN form."""

POOL_ID_RE = re.compile(r"^([A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?P[A-Za-z0-9\*]{1,30})$")
"""oicp-2.3.md §4.1 ChargingPoolID (ISO operators only)."""

_ISO_EVSE_PREFIX = re.compile(r"^([A-Za-z]{2})(\*?)([A-Za-z0-9]{3})\*?E")
_DIN_EVSE_PREFIX = re.compile(r"^(\+?[0-9]{1,3}\*[0-9]{3})\*")
_ISO_OPERATOR = re.compile(r"^([A-Za-z]{2})\*?([A-Za-z0-9]{3})$")
_NOT_POOL_CHAR = re.compile(r"[^A-Za-z0-9*]")
# printable ASCII without the characters that break a URL path segment or a CiString
_OCPI_ID_SAFE = re.compile(r"^[!$&'()*+,\-.0-9:;=@A-Z_a-z]+$")

OCPI_ID_MAX = 36
"""OCPI 2.2.1 CiString(36): Location.id, EVSE.uid, Connector.id (ocpi.md §3.2)."""

HASH_MARK = "~"


def canonical_id(value: str) -> str:
    """Upper-case with ``*``, ``-`` and blanks removed: the form ids are *compared* in."""
    return "".join(value.split()).replace("*", "").replace("-", "").upper()


def normalize_evse_id(value: str) -> str:
    """OCPI ``evse_id`` → OICP EvseID spelling: ``-`` separators become ``*``, blanks go, upper case.

    The OICP regex requires the ``E`` marker in upper case, and HBS upper-cases EvseIDs anyway
    (hubject/oicp#114), so the upper-cased form is what Hubject will hold.
    """
    return "".join(value.split()).replace("-", "*").upper()


def is_evse_id(value: str) -> bool:
    """True when ``value`` matches the OICP EvseID regex (ISO or DIN)."""
    return EVSE_ID_RE.match(value) is not None


def is_operator_id(value: str) -> bool:
    """True when ``value`` matches the OICP OperatorID regex (ISO or DIN)."""
    return OPERATOR_ID_RE.match(value) is not None


def evse_operator_id(evse_id: str) -> str | None:
    """The OperatorID prefix of an EvseID as spelled there (``DE*ABC*E1`` → ``DE*ABC``), or None."""
    iso = _ISO_EVSE_PREFIX.match(evse_id)
    if iso:
        return f"{iso.group(1)}{iso.group(2)}{iso.group(3)}"
    din = _DIN_EVSE_PREFIX.match(evse_id)
    return din.group(1) if din else None


def operator_party(operator_id: str, din_operators: dict[str, str] | None = None) -> tuple[str, str] | None:
    """OCPI (country_code, party_id) of an OperatorID: ``DE*ABC`` → ``("DE", "ABC")``.

    DIN operators (``+49*810``) have no OCPI party (mapping.md §3.1): they are looked up in
    ``din_operators`` (OperatorID → ISO OperatorID, compared canonically); None when unknown.
    """
    iso = _ISO_OPERATOR.match(operator_id.strip())
    if iso:
        return iso.group(1).upper(), iso.group(2).upper()
    if din_operators:
        wanted = canonical_id(operator_id)
        for din, iso_id in din_operators.items():
            if canonical_id(din) == wanted:
                return operator_party(iso_id)
    return None


def operator_id_from_party(country_code: str, party_id: str) -> str:
    """ISO OperatorID of an OCPI party: ``("BE", "BEC")`` → ``BE*BEC``."""
    return f"{country_code.upper()}*{party_id.upper()}"


def _digest(value: str, length: int) -> str:
    raw = hashlib.sha256(value.encode("utf-8")).digest()
    return base64.b32encode(raw).decode("ascii").rstrip("=")[:length]


def ocpi_id(oicp_id: str, max_length: int = OCPI_ID_MAX) -> str:
    """A stable OCPI id (CiString(``max_length``)) for an OICP id; see the module docstring."""
    if len(oicp_id) <= max_length and _OCPI_ID_SAFE.match(oicp_id):
        return oicp_id
    stripped = oicp_id.replace("*", "")
    if 0 < len(stripped) <= max_length and _OCPI_ID_SAFE.match(stripped):
        return stripped
    safe = "".join(ch for ch in stripped if _OCPI_ID_SAFE.match(ch))
    digest = _digest(oicp_id, 12)
    return f"{safe[: max_length - len(digest) - 1]}{HASH_MARK}{digest}"


def is_hashed_ocpi_id(value: str) -> bool:
    """True when :func:`ocpi_id` had to hash (the original must be looked up, e.g. in ``evse_id``)."""
    return HASH_MARK in value


def _sanitised_suffix(value: str) -> str:
    cleaned = _NOT_POOL_CHAR.sub("", value)
    if len(cleaned) <= 30:
        return cleaned
    return cleaned[:17] + _digest(value, 13)


def charging_pool_id(operator_id: str, location_id: str) -> str | None:
    """``CC*OOO*P<location id>`` (oicp-2.3.md §7); None for DIN operators or an empty suffix."""
    suffix = _sanitised_suffix(location_id)
    if not suffix or _ISO_OPERATOR.match(operator_id) is None:
        return None
    separator = "*" if "*" in operator_id else ""
    return f"{operator_id}{separator}P{suffix}"


def derived_evse_id(operator_id: str, evse_uid: str) -> str | None:
    """``CC*OOO*E<uid>`` for an OCPI EVSE without ``evse_id``; None when no valid id results."""
    suffix = _sanitised_suffix(evse_uid).upper()
    if not suffix:
        return None
    separator = "*" if "*" in operator_id else ""
    candidate = f"{operator_id}{separator}E{suffix}"
    return candidate if is_evse_id(candidate) else None


def digest_id(*parts: str, length: int = 16) -> str:
    """A deterministic id from ``parts`` (base32 of their SHA-256), for groups without an id."""
    return _digest("\x1f".join(parts), length)


def evse_uid(evse_id: str) -> str:
    """OCPI EVSE ``uid`` for an OICP EvseID (:func:`ocpi_id`; the EvseID stays in ``evse_id``)."""
    return ocpi_id(evse_id)


__all__ = [
    "EVSE_ID_RE",
    "OCPI_ID_MAX",
    "OPERATOR_ID_RE",
    "POOL_ID_RE",
    "canonical_id",
    "charging_pool_id",
    "derived_evse_id",
    "digest_id",
    "evse_operator_id",
    "evse_uid",
    "is_evse_id",
    "is_hashed_ocpi_id",
    "is_operator_id",
    "normalize_evse_id",
    "ocpi_id",
    "operator_id_from_party",
    "operator_party",
]
