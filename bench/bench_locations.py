"""Micro-benchmark: EVSEs per second for the location translation, beside a hand-written baseline.

Run: ``.venv/bin/python bench/bench_locations.py [--evses 20] [--seconds 3] [--profile 25]``. Not a
test: it prints figures. The baseline is a plain dict-to-dict translation of the same Location
(address split, plug table, kW, capabilities, coordinates) without models, rules or notes, in the
same process; the target is to stay within 3x of it. Inputs are parsed models (as a flow holds
them), outputs are models (OCPI → OICP) and Locations (OICP → OCPI); serialisation is not timed.
``--profile N`` then prints the N functions the OCPI → OICP translation spends most time in
(cProfile, own time; the profiler slows small functions most).
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.models.evse_data import EvseDataRecord
from mappings.locations import evse_records_to_locations, location_to_evse_records
from mappings.rules import load_rules

NOW = datetime(2024, 5, 1, tzinfo=UTC)
RULES = load_rules({"locations": {"hotline_phone_number": "+4930123456"}}).resolve()
_NUMBER = re.compile(r"^(.*?\S)[\s,]+(\d[\w/\-]*)$")
_PLUGS = {
    "IEC_62196_T2/SOCKET": "Type 2 Outlet",
    "IEC_62196_T2/CABLE": "Type 2 Connector (Cable Attached)",
    "IEC_62196_T2_COMBO": "CCS Combo 2 Plug (Cable Attached)",
    "CHADEMO": "CHAdeMO",
}
_MODES = {"RFID_READER": "NFC RFID Classic", "REMOTE_START_STOP_CAPABLE": "REMOTE"}


def location_data(evses: int) -> dict[str, Any]:
    """A Location with ``evses`` EVSEs of two connectors each (AC socket + DC cable)."""
    stamp = "2024-01-01T00:00:00Z"
    return {
        "country_code": "DE",
        "party_id": "ABC",
        "id": "LOC1",
        "publish": True,
        "name": "Bench",
        "address": "Hauptstraße 12a",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DEU",
        "coordinates": {"latitude": "52.520008", "longitude": "13.404954"},
        "time_zone": "Europe/Berlin",
        "parking_type": "ON_STREET",
        "opening_times": {"twentyfourseven": True},
        "last_updated": stamp,
        "evses": [
            {
                "uid": f"E{i}",
                "evse_id": f"DE*ABC*E{i}",
                "status": "AVAILABLE",
                "last_updated": stamp,
                "capabilities": ["RFID_READER", "REMOTE_START_STOP_CAPABLE", "RESERVABLE"],
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 32,
                        "max_electric_power": 22000,
                        "last_updated": stamp,
                    },
                    {
                        "id": "2",
                        "standard": "IEC_62196_T2_COMBO",
                        "format": "CABLE",
                        "power_type": "DC",
                        "max_voltage": 920,
                        "max_amperage": 500,
                        "max_electric_power": 150000,
                        "last_updated": stamp,
                    },
                ],
            }
            for i in range(evses)
        ],
    }


def baseline(location: dict[str, Any]) -> list[dict[str, Any]]:
    """The hand-written dict-to-dict translation the bridge is compared with."""
    found = _NUMBER.match(location["address"])
    street, number = (found.group(1), found.group(2)) if found else (location["address"], "0")
    address = {
        "Country": location["country"],
        "City": location["city"],
        "Street": street,
        "PostalCode": location.get("postal_code") or "0",
        "HouseNum": number,
    }
    geo = {
        "Google": {
            "Coordinates": f"{float(location['coordinates']['latitude']):.6f} "
            f"{float(location['coordinates']['longitude']):.6f}"
        }
    }
    records = []
    for evse in location["evses"]:
        plugs, facilities = [], []
        for connector in evse["connectors"]:
            plug = _PLUGS.get(f"{connector['standard']}/{connector['format']}") or _PLUGS.get(
                connector["standard"]
            )
            if plug is None:
                continue
            facility: dict[str, Any] = {
                "PowerType": connector["power_type"],
                "Power": round(connector["max_electric_power"] / 1000),
            }
            if connector["max_voltage"] <= 999:
                facility["Voltage"] = connector["max_voltage"]
            if connector["max_amperage"] <= 99:
                facility["Amperage"] = connector["max_amperage"]
            plugs.append(plug)
            facilities.append(facility)
        modes = [_MODES[c] for c in evse.get("capabilities", ()) if c in _MODES]
        records.append(
            {
                "EvseID": evse["evse_id"],
                "ChargingStationID": location["id"],
                "ChargingStationNames": [{"lang": "en", "value": location["name"]}],
                "Address": address,
                "GeoCoordinates": geo,
                "Plugs": plugs,
                "ChargingFacilities": facilities,
                "RenewableEnergy": False,
                "CalibrationLawDataAvailability": "Not Available",
                "AuthenticationModes": modes,
                "PaymentOptions": ["Contract"],
                "ValueAddedServices": ["Reservation"],
                "Accessibility": "Free publicly accessible",
                "HotlinePhoneNumber": "+4930123456",
                "IsOpen24Hours": True,
                "IsHubjectCompatible": True,
                "DynamicInfoAvailable": "auto",
            }
        )
    return records


def rates(works: dict[str, Callable[[], object]], evses: int, seconds: float) -> dict[str, float]:
    """EVSEs per second of each ``work`` (one call translates ``evses`` EVSEs).

    The works are run in alternating small batches and each keeps its fastest batch, so a busy
    machine slows every contender alike instead of whichever happened to run during a spike.
    """
    best = dict.fromkeys(works, math.inf)
    deadline = time.perf_counter() + seconds * len(works)
    while time.perf_counter() < deadline:
        for name, work in works.items():
            start = time.perf_counter()
            for _ in range(5):
                work()
            best[name] = min(best[name], (time.perf_counter() - start) / 5)
    return {name: evses / per_call for name, per_call in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evses", type=int, default=20, help="EVSEs per Location (default 20)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per contender (default 3)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N of a profile")
    args = parser.parse_args()
    data = location_data(args.evses)
    location = v221.Location.model_validate(data)
    records = location_to_evse_records(
        location, RULES, operator_id="DE*ABC", operator_name="Bench", now=NOW
    ).value
    assert len(records) == args.evses and len(baseline(data)) == args.evses

    found = rates(
        {
            "baseline": lambda: baseline(data),
            "baseline+models": lambda: [EvseDataRecord.model_validate(r) for r in baseline(data)],
            "forward": lambda: location_to_evse_records(
                location, RULES, operator_id="DE*ABC", operator_name="Bench", now=NOW
            ),
            "back": lambda: evse_records_to_locations(records, RULES, now=NOW),
        },
        args.evses,
        args.seconds,
    )
    hand, forward, back = found["baseline"], found["forward"], found["back"]
    modelled = found["baseline+models"]
    print(f"{'translation':<38}{'EVSEs/s':>12}{'vs baseline':>14}")
    print(f"{'hand-written dict→dict baseline':<38}{hand:>12,.0f}{1:>13.1f}x")
    print(f"{'same, validated into EvseDataRecord':<38}{modelled:>12,.0f}{hand / modelled:>13.1f}x slower")
    print(f"{'OCPI Location → OICP EvseDataRecords':<38}{forward:>12,.0f}{hand / forward:>13.1f}x slower")
    print(f"{'OICP EvseDataRecords → OCPI Location':<38}{back:>12,.0f}{hand / back:>13.1f}x slower")
    verdict = "within" if hand / forward <= 3 else "NOT within"
    print(f"OCPI → OICP is {verdict} 3x of the baseline ({args.evses} EVSEs per Location, 2 connectors each)")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(2000):
            location_to_evse_records(location, RULES, operator_id="DE*ABC", operator_name="Bench", now=NOW)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
