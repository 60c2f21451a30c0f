"""The Hubject simulator's data: versioned record sets with ActionType semantics, ID ownership,
coordinates, Spring pages and a synthetic network generator.

* :class:`RecordSet` applies ``fullLoad``/``insert``/``update``/``delete`` the way HBS does
  (oicp-2.3.md §2.1 notes, EMP spec "eRoamingPushAuthenticationData"): ``fullLoad`` replaces the
  owner's whole set (an empty list deletes everything), ``insert`` aborts the whole request if
  any record exists, ``update`` aborts it if any record is missing, ``delete`` removes the given
  records. Deleted records are kept as tombstones with their time, so delta pulls
  (``LastCall``) can report ``insert``/``update``/``delete``.
* :func:`evse_belongs_to`: the "EVSE consistency" rule (an EvseID carries its OperatorID).
* :func:`spring_page`: the Spring Data page envelope of PullEvseData / GetChargeDetailRecords (§1.7).
* :func:`synthetic_evse_record`: valid EvseDataRecords for networks of any size.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bridge.oicp.models import (
    GeoCoordinates,
    GeoCoordinatesResponseFormat,
    OicpDateTime,
    StatusCode,
    StatusCodeEnum,
    format_oicp_datetime,
    operator_id_key,
    to_jsonable,
)

# ---------------------------------------------------------------------------------------------
# IDs


def operator_key_of_evse(evse_id: str) -> str:
    """The compare key of the operator an EvseID belongs to.

    ISO (``DE*ABC*E1``, ``DEABCE1``): country + 3 characters; DIN (``+49*810*000*438``): the
    first two ``*``-separated parts. The key has no ``*`` (as :func:`operator_id_key`).
    """
    text = evse_id.strip().upper()
    if text[:1] == "+" or text[:1].isdigit():
        return "".join(text.split("*")[:2])
    return text.replace("*", "")[:5]


def evse_belongs_to(evse_id: str, operator_id: str) -> bool:
    """oicp-2.3.md §2.1 "EVSE consistency": the EvseID carries the pushing CPO's OperatorID (else 018)."""
    return operator_key_of_evse(evse_id) == operator_id_key(operator_id)


def operator_id_of_evse(evse_id: str) -> str:
    """The OperatorID in its ``*`` form (``DE*ABC``, ``+49*810``) an EvseID carries."""
    key = operator_key_of_evse(evse_id)
    if key.startswith("+") or key[:1].isdigit():
        country, _, rest = evse_id.strip().upper().partition("*")
        return f"{country}*{rest.split('*')[0]}"
    return f"{key[:2]}*{key[2:]}"


# ---------------------------------------------------------------------------------------------
# Record sets


class PushConflict(Exception):
    """A push the whole of which is refused: ``code`` (StatusCode) and ``info`` (AdditionalInfo)."""

    def __init__(self, code: str, info: str) -> None:
        super().__init__(info)
        self.code = code
        self.info = info


@dataclass(slots=True)
class Entry:
    """One record of a set: its owner, value (wire JSON), and the times it was created, last
    changed and deleted (a tombstone keeps ``deleted``)."""

    owner: str
    key: str
    value: dict[str, Any]
    created: datetime
    updated: datetime
    deleted: datetime | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.deleted is None

    def delta_since(self, since: datetime) -> str | None:
        """The deltaType of this record for a pull with ``LastCall = since`` (None: unchanged)."""
        if self.deleted is not None:
            return "delete" if self.deleted > since and self.created <= since else None
        if self.created > since:
            return "insert"
        if self.updated > since:
            return "update"
        return None


class RecordSet:
    """Records keyed globally (``key``), each owned by one partner (``owner``)."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.version = 0

    def live(self, owner: str | None = None) -> Iterator[Entry]:
        return (
            entry for entry in self.entries.values() if entry.live and (owner is None or entry.owner == owner)
        )

    def get(self, key: str) -> Entry | None:
        entry = self.entries.get(key)
        return entry if entry is not None and entry.live else None

    def put(self, owner: str, key: str, value: dict[str, Any], now: datetime) -> Entry:
        """Insert or update one record; a record equal to the current one keeps its times."""
        self.version += 1
        entry = self.entries.get(key)
        if entry is None or not entry.live:
            entry = Entry(owner, key, value, created=now, updated=now)
            self.entries[key] = entry
        elif entry.value != value or entry.owner != owner:
            entry.owner, entry.value, entry.updated = owner, value, now
            entry.cache.clear()
        return entry

    def remove(self, key: str, now: datetime) -> bool:
        entry = self.entries.get(key)
        if entry is None or not entry.live:
            return False
        self.version += 1
        entry.deleted = now
        entry.updated = now
        entry.cache.clear()
        return True

    def apply(
        self,
        action: str,
        owner: str,
        items: Sequence[tuple[str, str, dict[str, Any]]],
        now: datetime,
    ) -> None:
        """One push: ``items`` are ``(key, label, value)``; ``label`` names a record in errors.

        Raises :class:`PushConflict` (022, the records named in AdditionalInfo) before changing
        anything when ``insert`` meets an existing record or ``update`` a missing one.
        """
        if action == "insert":
            existing = [label for key, label, _ in items if self.get(key) is not None]
            if existing:
                raise PushConflict("022", "insert aborted, records already exist: " + ", ".join(existing))
        elif action == "update":
            absent = [label for key, label, _ in items if self.get(key) is None]
            if absent:
                raise PushConflict("022", "update aborted, records do not exist: " + ", ".join(absent))
        if action == "delete":
            for key, _, _ in items:
                self.remove(key, now)
            return
        if action == "fullLoad":
            keep = {key for key, _, _ in items}
            for entry in list(self.live(owner)):
                if entry.key not in keep:
                    self.remove(entry.key, now)
        for key, _, value in items:
            self.put(owner, key, value, now)


def duplicates(labels: Iterable[str]) -> list[str]:
    """Labels appearing more than once in one request (HBS refuses them with 018, [G])."""
    seen: set[str] = set()
    repeated: list[str] = []
    for label in labels:
        if label in seen and label not in repeated:
            repeated.append(label)
        seen.add(label)
    return repeated


# ---------------------------------------------------------------------------------------------
# Coordinates


def lat_lon(coordinates: dict[str, Any]) -> tuple[float, float] | None:
    """(latitude, longitude) of wire GeoCoordinates, ``None`` when unreadable."""
    try:
        lat, lon = GeoCoordinates.model_validate(coordinates).lat_lon()
    except (ValueError, TypeError):
        return None
    return float(lat), float(lon)


def in_format(coordinates: dict[str, Any], fmt: str) -> dict[str, Any]:
    """Wire GeoCoordinates converted to the requested GeoCoordinatesResponseFormat."""
    try:
        parsed = GeoCoordinates.model_validate(coordinates)
        lat, lon = parsed.lat_lon()
        converted = GeoCoordinates.from_lat_lon(lat, lon, GeoCoordinatesResponseFormat(fmt))
    except (ValueError, TypeError):
        return coordinates
    return to_jsonable(converted, strict=False)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine, WGS 84 mean radius)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


# ---------------------------------------------------------------------------------------------
# Pages


def spring_page(content: list[Any], total: int, page: int, size: int) -> dict[str, Any]:
    """A Spring Data page as HBS answers PullEvseData / GetChargeDetailRecords (oicp-2.3.md §1.7)."""
    total_pages = math.ceil(total / size) if size else 0
    return {
        "content": content,
        "pageable": {
            "sort": {"sorted": False, "empty": True, "unsorted": True},
            "pageSize": size,
            "pageNumber": page,
            "offset": page * size,
            "paged": True,
            "unpaged": False,
        },
        "number": page,
        "size": size,
        "totalElements": total,
        "totalPages": total_pages,
        "first": page == 0,
        "last": page >= total_pages - 1,
        "numberOfElements": len(content),
        "empty": not content,
        "StatusCode": to_jsonable(StatusCode.of(StatusCodeEnum.SUCCESS)),
    }


def timestamp(value: datetime) -> str:
    """A date/time as HBS writes it (ISO 8601, offset kept)."""
    return format_oicp_datetime(value)


def parse_timestamp(text: str) -> datetime:
    """An OICP date/time (offset or ``Z``) as an aware datetime."""
    from pydantic import TypeAdapter

    parsed: datetime = TypeAdapter(OicpDateTime).validate_python(text)
    return parsed


# ---------------------------------------------------------------------------------------------
# Synthetic network

_CITIES = (
    ("Berlin", "DEU", "10115", 52.52, 13.40),
    ("Hamburg", "DEU", "20095", 53.55, 9.99),
    ("München", "DEU", "80331", 48.14, 11.58),
    ("Wien", "AUT", "1010", 48.21, 16.37),
    ("Paris", "FRA", "75001", 48.86, 2.35),
    ("Amsterdam", "NLD", "1012", 52.37, 4.90),
    ("København", "DNK", "1050", 55.68, 12.57),
    ("Milano", "ITA", "20121", 45.46, 9.19),
)
_STREETS = ("Hauptstraße", "Bahnhofstraße", "Rue de la Paix", "Keizersgracht", "Via Roma", "Ringstraße")
_AC = (("Type 2 Outlet", "AC_3_PHASE", 22, 230, 32), ("Type 2 Outlet", "AC_3_PHASE", 11, 230, 16))
_DC = (("CCS Combo 2 Plug (Cable Attached)", "DC", 150, 400, None), ("CHAdeMO", "DC", 50, 400, None))


def synthetic_evse_id(operator_id: str, index: int) -> str:
    """``DE*ABC*E0000042`` (ISO) or ``+49*810*0000042`` (DIN) for the ``index``-th EVSE of an operator."""
    if operator_id.startswith("+") or operator_id[:1].isdigit():
        return f"{operator_id}*{index:07d}"
    return f"{operator_id}*E{index:07d}"


def synthetic_evse_record(evse_id: str, rng: random.Random) -> dict[str, Any]:
    """A valid EvseDataRecord (wire JSON, every field OICP 2.3 makes mandatory) for ``evse_id``."""
    city, country, postal, lat, lon = rng.choice(_CITIES)
    plug, power_type, power, voltage, amperage = rng.choice(_DC if rng.random() < 0.25 else _AC)
    facility: dict[str, Any] = {"PowerType": power_type, "Power": power, "Voltage": voltage}
    if amperage is not None:
        facility["Amperage"] = amperage
    always_open = rng.random() < 0.8
    latitude = Decimal(str(round(lat + rng.uniform(-0.2, 0.2), 6)))
    longitude = Decimal(str(round(lon + rng.uniform(-0.2, 0.2), 6)))
    record: dict[str, Any] = {
        "EvseID": evse_id,
        "ChargingStationID": evse_id.replace("*", "")[:50],
        "ChargingStationNames": [{"lang": "en", "value": f"Station {evse_id[-7:]}"}],
        "Address": {
            "Country": country,
            "City": city,
            "Street": rng.choice(_STREETS),
            "PostalCode": postal,
            "HouseNum": str(rng.randint(1, 199)),
            "TimeZone": "UTC+01:00",
        },
        "GeoCoordinates": {"DecimalDegree": {"Latitude": f"{latitude:f}", "Longitude": f"{longitude:f}"}},
        "Plugs": [plug],
        "ChargingFacilities": [facility],
        "RenewableEnergy": rng.random() < 0.5,
        "CalibrationLawDataAvailability": rng.choice(["Local", "External", "Not Available"]),
        "AuthenticationModes": ["NFC RFID Classic", "REMOTE"],
        "PaymentOptions": ["Contract"],
        "ValueAddedServices": ["None"],
        "Accessibility": rng.choice(["Free publicly accessible", "Paying publicly accessible"]),
        "HotlinePhoneNumber": "+4930123456",
        "IsOpen24Hours": always_open,
        "IsHubjectCompatible": rng.random() < 0.95,
        "DynamicInfoAvailable": "true",
    }
    if not always_open:
        record["OpeningTimes"] = [{"Period": [{"begin": "06:00", "end": "22:00"}], "on": "Everyday"}]
    return record


__all__ = [
    "Entry",
    "PushConflict",
    "RecordSet",
    "distance_km",
    "duplicates",
    "evse_belongs_to",
    "in_format",
    "lat_lon",
    "operator_id_of_evse",
    "operator_key_of_evse",
    "parse_timestamp",
    "spring_page",
    "synthetic_evse_id",
    "synthetic_evse_record",
    "timestamp",
]
