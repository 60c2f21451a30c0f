"""OCPI 2.1.1 ⇄ 2.2.1, the rows of docs/ocpi.md §5 about configuration and Locations: Credentials,
Version details, Location, Hours, Coordinates, EVSE, Connector, EnvironmentalImpact."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_json
from mappings import ocpi_versions as ov
from mappings.result import LossKind, Translation

TZ = "Europe/Brussels"
UNPUBLISHED = [
    "location_example_uc3_destination_charger_not_published.json",
    "location_example_uc4_limited_visibility.json",
    "location_example_uc5_home_charge_point.json",
]


@pytest.fixture(scope="module")
def ex211(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.1.1" / "examples"


@pytest.fixture(scope="module")
def ex221(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.2.1" / "examples"


@pytest.fixture(scope="module")
def loc1(ex221: Path) -> v221.Location:
    """The Location cache entry the 2.2.1 Session and CDR examples refer to (LOC1/3256/1)."""
    return v221.Location.model_validate_json((ex221 / "location_example.json").read_bytes())


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_bytes())


def _paths(t: Translation[Any], kind: LossKind | None = None) -> set[str]:
    return {loss.path for loss in t.losses if kind is None or loss.kind is kind}


@pytest.fixture
def location211(ex211: Path) -> v211.Location:
    return v211.Location.model_validate_json((ex211 / "mod_locations__example.json").read_bytes())


def _location221(loc1: v221.Location, **update: Any) -> v221.Location:
    return v221.Location.model_validate({**json.loads(to_json(loc1)), **update})


def _connector221(**update: Any) -> v221.Connector:
    base = {
        "id": "1",
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 32,
        "last_updated": "2020-01-01T00:00:00Z",
    }
    return v221.Connector.model_validate({**base, **update})


class TestRowCredentials:
    def test_up_wraps_the_flat_fields_in_roles_with_the_role_of_the_connection(self, ex211: Path) -> None:
        result = ov.credentials_up(
            v211.Credentials.model_validate(_load(ex211, "credentials__example.json")), role=v221.Role.EMSP
        )
        assert [
            (r.role, r.party_id, r.country_code, r.business_details.name) for r in result.value.roles
        ] == [(v221.Role.EMSP, "EXA", "NL", "Example Operator")]
        assert result.value.token == "ebf3b399-779f-4497-9b9d-ac6ad3cc44d2"
        assert _paths(result, LossKind.DEFAULTED) == {"roles[0].role"}

    def test_down_gives_one_flat_credentials_per_role(self, ex221: Path) -> None:
        result = ov.credentials_down(
            v221.Credentials.model_validate(_load(ex221, "credentials_example2.json"))
        )
        assert [(c.party_id, c.business_details.name) for c in result.value] == [
            ("EXA", "Example Operator"),
            ("EXA", "Example Provider"),
        ]
        assert {c.token for c in result.value} == {"9e80a9c4-28be-11e9-b210-d663bd873d93"}
        assert _paths(result, LossKind.LOST) == {"roles[0].role", "roles[1].role"}


class TestRowVersionDetails:
    def test_up_infers_the_interface_role_from_the_peer_role(self) -> None:
        details = v211.VersionDetails.model_validate(
            {
                "version": "2.1.1",
                "endpoints": [
                    {"identifier": "credentials", "url": "https://p/credentials"},
                    {"identifier": "locations", "url": "https://p/locations"},
                    {"identifier": "commands", "url": "https://p/commands"},
                    {"identifier": "nltnm-tokens", "url": "https://p/x"},
                ],
            }
        )
        cpo = ov.version_details_up(details, peer_role=v221.Role.CPO).value
        emsp = ov.version_details_up(details, peer_role=v221.Role.EMSP)
        assert [(e.identifier, e.role.value) for e in cpo.endpoints] == [
            ("credentials", "SENDER"),
            ("locations", "SENDER"),
            ("commands", "RECEIVER"),
        ]
        assert [(e.identifier, e.role.value) for e in emsp.value.endpoints] == [
            ("credentials", "SENDER"),
            ("locations", "RECEIVER"),
            ("commands", "SENDER"),
        ]
        assert "endpoints[3]" in _paths(emsp, LossKind.LOST)
        with pytest.raises(MappingError):
            ov.version_details_up(details, peer_role=v221.Role.HUB)

    def test_down_publishes_the_endpoints_of_one_role_without_role(self) -> None:
        details = v221.VersionDetails.model_validate(
            {
                "version": "2.2.1",
                "endpoints": [
                    {"identifier": "credentials", "role": "SENDER", "url": "https://g/credentials"},
                    {"identifier": "locations", "role": "SENDER", "url": "https://g/cpo/locations"},
                    {"identifier": "locations", "role": "RECEIVER", "url": "https://g/emsp/locations"},
                    {"identifier": "hubclientinfo", "role": "RECEIVER", "url": "https://g/hci"},
                ],
            }
        )
        result = ov.version_details_down(details, role=v221.Role.EMSP)
        assert result.value.version is v211.VersionNumber.V2_1_1
        assert [(e.identifier, e.url) for e in result.value.endpoints] == [
            ("credentials", "https://g/credentials"),
            ("locations", "https://g/emsp/locations"),
        ]
        assert _paths(result) == {"endpoints[1]", "endpoints[3]", "version"}


class TestRowLocation:
    def test_up_adds_owner_publish_and_time_zone_and_renames_type(self, location211: v211.Location) -> None:
        result = ov.location_up(location211, country_code="BE", party_id="BEC", time_zone_default=TZ)
        value = result.value
        assert (value.country_code, value.party_id, value.publish, value.time_zone) == ("BE", "BEC", True, TZ)
        assert value.parking_type is v221.ParkingType.ON_STREET
        assert _paths(result, LossKind.DEFAULTED) == {"country_code", "party_id", "publish", "time_zone"}

    def test_up_keeps_a_given_time_zone(self, location211: v211.Location) -> None:
        given = location211.model_copy(update={"time_zone": "Europe/Oslo"})
        result = ov.location_up(given, country_code="BE", party_id="BEC", time_zone_default=TZ)
        assert result.value.time_zone == "Europe/Oslo"
        assert "time_zone" not in _paths(result)

    @pytest.mark.parametrize(
        ("type_", "parking", "lost"),
        [
            ("PARKING_LOT", "PARKING_LOT", False),
            ("UNDERGROUND_GARAGE", "UNDERGROUND_GARAGE", False),
            ("OTHER", None, True),
            ("UNKNOWN", None, False),
        ],
    )
    def test_up_type_to_parking_type(
        self, location211: v211.Location, type_: str, parking: str | None, lost: bool
    ) -> None:
        result = ov.location_up(
            location211.model_copy(update={"type": v211.LocationType(type_)}),
            country_code="BE",
            party_id="BEC",
            time_zone_default=TZ,
        )
        assert result.value.parking_type == (v221.ParkingType(parking) if parking else None)
        assert ("type" in _paths(result, LossKind.LOST)) is lost

    @pytest.mark.parametrize(
        ("parking", "type_", "kind"),
        [
            ("ALONG_MOTORWAY", "OTHER", LossKind.CHANGED),
            ("ON_DRIVEWAY", "OTHER", LossKind.CHANGED),
            (None, "UNKNOWN", LossKind.DEFAULTED),
            ("PARKING_GARAGE", "PARKING_GARAGE", None),
        ],
    )
    def test_down_parking_type_to_type(
        self, loc1: v221.Location, parking: str | None, type_: str, kind: LossKind | None
    ) -> None:
        result = ov.location_down(
            loc1.model_copy(update={"parking_type": parking and v221.ParkingType(parking)})
        )
        assert result.value.type is v211.LocationType(type_)
        noted = {loss.kind for loss in result.losses if loss.path in ("type", "parking_type")}
        assert noted == ({kind} if kind else set())

    def test_down_drops_publish_fields_and_state_and_owner(self, loc1: v221.Location) -> None:
        result = ov.location_down(_location221(loc1, state="Oost-Vlaanderen"))
        assert _paths(result, LossKind.LOST) == {"country_code", "party_id", "publish", "state"}
        assert "state" not in json.loads(to_json(result.value))

    @pytest.mark.parametrize("name", UNPUBLISHED)
    def test_down_refuses_unpublished_locations(self, ex221: Path, name: str) -> None:
        with pytest.raises(MappingError) as info:
            ov.location_down(v221.Location.model_validate(_load(ex221, name)))
        assert info.value.path == "publish"

    def test_down_truncates_the_address_to_45(self, loc1: v221.Location) -> None:
        address = "Koningin Maria Hendrikaplein 70, gebouw B, ingang Oost"
        result = ov.location_down(_location221(loc1, address=address))
        assert result.value.address == address[:45]
        assert [(x.path, x.kind) for x in result.losses if x.path == "address"] == [
            ("address", LossKind.CHANGED)
        ]

    def test_down_fills_the_required_postal_code_and_drops_new_facilities(self, loc1: v221.Location) -> None:
        source = _location221(loc1, postal_code=None, facilities=["CAFE", "METRO_STATION", "WIFI"])
        result = ov.location_down(source)
        assert result.value.postal_code == ""
        assert result.value.facilities == [v211.Facility.CAFE, v211.Facility.WIFI]
        assert {"postal_code", "facilities[1]"} <= _paths(result)

    def test_down_with_an_unknown_field_reports_it_lost(self, loc1: v221.Location) -> None:
        result = ov.location_down(_location221(loc1, x_vendor={"a": 1}))
        assert "x_vendor" in _paths(result, LossKind.LOST)
        assert "x_vendor" not in json.loads(to_json(result.value))


class TestRowHours:
    @pytest.mark.parametrize(
        ("hours", "expected", "lost"),
        [
            (
                {"regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}]},
                {
                    "twentyfourseven": False,
                    "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}],
                },
                set(),
            ),
            ({"twentyfourseven": True}, {"twentyfourseven": True}, set()),
            (
                {
                    "twentyfourseven": True,
                    "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}],
                },
                {"twentyfourseven": True},
                {"opening_times.regular_hours"},
            ),
            (
                {
                    "exceptional_closings": [
                        {"period_begin": "2018-12-25T03:00:00Z", "period_end": "2018-12-25T05:00:00Z"}
                    ]
                },
                None,
                {"opening_times"},
            ),
            (
                {"regular_hours": [{"weekday": 7, "period_begin": "18:00", "period_end": "24:00"}]},
                {
                    "twentyfourseven": False,
                    "regular_hours": [{"weekday": 7, "period_begin": "18:00", "period_end": "00:00"}],
                },
                set(),
            ),
        ],
    )
    def test_up_resolves_the_choice(
        self,
        location211: v211.Location,
        hours: dict[str, Any],
        expected: dict[str, Any] | None,
        lost: set[str],
    ) -> None:
        source = location211.model_copy(update={"opening_times": v211.Hours.model_validate(hours)})
        result = ov.location_up(source, country_code="BE", party_id="BEC", time_zone_default=TZ)
        dumped = json.loads(to_json(result.value)).get("opening_times")
        assert dumped == expected
        assert _paths(result, LossKind.LOST) == lost

    @pytest.mark.parametrize(
        ("name", "sent"),
        [
            ("location_hours_247_open_exception_closing.json", {"twentyfourseven", "exceptional_closings"}),
            (
                "location_hours_opening_hours_with_exceptional_closing.json",
                {"regular_hours", "exceptional_closings"},
            ),
            (
                "location_hours_opening_hours_with_exceptional_opening.json",
                {"regular_hours", "exceptional_openings"},
            ),
        ],
    )
    def test_down_sends_exactly_one_of_the_two(
        self, ex221: Path, loc1: v221.Location, name: str, sent: set[str]
    ) -> None:
        result = ov.location_down(_location221(loc1, opening_times=_load(ex221, name)))
        assert set(json.loads(to_json(result.value))["opening_times"]) == sent

    def test_down_of_the_regular_hours_example(self, ex221: Path, loc1: v221.Location) -> None:
        hours = _load(ex221, "location_regularhours_example.json")["opening_times"]
        result = ov.location_down(_location221(loc1, opening_times=hours))
        assert result.value.opening_times is not None
        assert result.value.opening_times.twentyfourseven is None
        assert len(result.value.opening_times.regular_hours or []) == len(hours["regular_hours"])

    def test_down_never_sends_both(self, loc1: v221.Location) -> None:
        both = {
            "twentyfourseven": True,
            "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}],
        }
        result = ov.location_down(_location221(loc1, opening_times=both))
        assert json.loads(to_json(result.value))["opening_times"] == {"twentyfourseven": True}
        assert "opening_times.regular_hours" in _paths(result, LossKind.LOST)


class TestRowCoordinates:
    @pytest.mark.parametrize(
        ("sent", "kept", "changed"),
        [
            ("51.047599", "51.047599", False),
            ("51.0476", "51.047600", False),
            ("51.04759", "51.04759", False),
            ("5.04759912", "5.047599", True),
        ],
    )
    def test_up(self, location211: v211.Location, sent: str, kept: str, changed: bool) -> None:
        source = location211.model_copy(
            update={"coordinates": v211.GeoLocation(latitude=sent, longitude="3.729944")}
        )
        result = ov.location_up(source, country_code="BE", party_id="BEC", time_zone_default=TZ)
        assert result.value.coordinates.latitude == kept
        assert ("coordinates.latitude" in _paths(result, LossKind.CHANGED)) is changed

    @pytest.mark.parametrize(
        ("sent", "sent_down", "changed"),
        [
            ("51.04759", "51.047590", False),
            ("51.0475991", "51.047599", True),
            ("-3.7299445", "-3.729945", True),
        ],
    )
    def test_down_pads_or_rounds_to_six_decimals(
        self, loc1: v221.Location, sent: str, sent_down: str, changed: bool
    ) -> None:
        result = ov.location_down(_location221(loc1, coordinates={"latitude": sent, "longitude": "3.72994"}))
        assert (result.value.coordinates.latitude, result.value.coordinates.longitude) == (
            sent_down,
            "3.729940",
        )
        assert ("coordinates.latitude" in _paths(result, LossKind.CHANGED)) is changed


class TestRowEvseAndConnector:
    def test_up_connector_voltage_amperage_tariff_id(self, location211: v211.Location) -> None:
        assert location211.evses is not None
        result = ov.connector_up(location211.evses[0].connectors[0])
        assert (result.value.max_voltage, result.value.max_amperage, result.value.tariff_ids) == (
            220,
            16,
            ["11"],
        )
        assert result.losses == []

    def test_up_evse_uid_longer_than_36_is_refused(self, location211: v211.Location) -> None:
        assert location211.evses is not None
        with pytest.raises(MappingError) as info:
            ov.evse_up(location211.evses[0].model_copy(update={"uid": "E" * 39}))
        assert info.value.path == "uid"

    def test_down_connector_reverse_and_tariff_choice(self) -> None:
        connector = _connector221(tariff_ids=["AD-HOC", "REG", "GREEN"], max_electric_power=22000)
        types = {
            "AD-HOC": v221.TariffType.AD_HOC_PAYMENT,
            "REG": v221.TariffType.REGULAR,
            "GREEN": v221.TariffType.PROFILE_GREEN,
        }
        result = ov.connector_down(connector, tariff_types=types)
        assert (result.value.voltage, result.value.amperage, result.value.tariff_id) == (230, 32, "REG")
        assert _paths(result, LossKind.LOST) == {"max_electric_power", "tariff_ids[0]", "tariff_ids[2]"}
        assert ov.connector_down(connector).value.tariff_id == "AD-HOC"  # no types known: the first

    @pytest.mark.parametrize(
        ("field", "value", "sent"),
        [
            ("standard", "NEMA_5_20", "DOMESTIC_B"),
            ("power_type", "AC_2_PHASE", "AC_1_PHASE"),
            ("power_type", "AC_2_PHASE_SPLIT", "AC_1_PHASE"),
        ],
    )
    def test_down_new_enum_values_to_the_nearest(self, field: str, value: str, sent: str) -> None:
        result = ov.connector_down(_connector221(**{field: value}))
        assert getattr(result.value, field).value == sent
        assert _paths(result, LossKind.CHANGED) == {field}

    def test_down_connector_without_2_1_1_type_is_omitted_from_its_evse(self, loc1: v221.Location) -> None:
        assert loc1.evses is not None
        evse = loc1.evses[0].model_copy(
            update={
                "connectors": [
                    _connector221(id="1", standard="GBT_DC", power_type="DC"),
                    _connector221(id="2"),
                ]
            }
        )
        result = ov.evse_down(evse)
        assert [c.id for c in result.value.connectors] == ["2"]
        assert "connectors[0]" in _paths(result, LossKind.LOST)
        with pytest.raises(MappingError) as info:
            ov.connector_down(_connector221(standard="PANTOGRAPH_TOP_DOWN"))
        assert info.value.path == "standard"
        only_gbt = evse.model_copy(update={"connectors": [_connector221(standard="GBT_AC")]})
        with pytest.raises(MappingError):
            ov.evse_down(only_gbt)
        dropped = ov.location_down(loc1.model_copy(update={"evses": [only_gbt, loc1.evses[1]]}))
        assert [e.uid for e in dropped.value.evses or []] == ["3257"]
        assert "evses[0]" in _paths(dropped, LossKind.LOST)

    def test_down_evse_drops_new_capabilities(self, loc1: v221.Location) -> None:
        assert loc1.evses is not None
        evse = loc1.evses[0].model_copy(
            update={
                "capabilities": [
                    v221.Capability.RESERVABLE,
                    v221.Capability.CHIP_CARD_SUPPORT,
                    v221.Capability.RFID_READER,
                ]
            }
        )
        result = ov.evse_down(evse)
        assert result.value.capabilities == [v211.Capability.RESERVABLE, v211.Capability.RFID_READER]
        assert _paths(result, LossKind.LOST) == {"capabilities[1]"}


class TestRowEnvironmentalImpact:
    def test_down_category_to_source(self, ex221: Path, loc1: v221.Location) -> None:
        for name in (
            "location_energymix_example_complete.json",
            "location_energymix_example_energy_provider.json",
            "location_energymix_example_simple.json",
        ):
            mix = _load(ex221, name)["energy_mix"]
            result = ov.location_down(_location221(loc1, energy_mix=mix))
            dumped = json.loads(to_json(result.value))["energy_mix"]
            expected = [
                {"source": i["category"], "amount": i["amount"]} for i in mix.get("environ_impact", [])
            ]
            assert dumped.get("environ_impact", []) == expected
            assert dumped["is_green_energy"] == mix["is_green_energy"]

    def test_up_source_to_category(self, location211: v211.Location) -> None:
        mix = v211.EnergyMix.model_validate(
            {
                "is_green_energy": False,
                "environ_impact": [
                    {"source": "NUCLEAR_WASTE", "amount": 0.00006},
                    {"source": "CARBON_DIOXIDE", "amount": 372},
                ],
            }
        )
        result = ov.location_up(
            location211.model_copy(update={"energy_mix": mix}),
            country_code="BE",
            party_id="BEC",
            time_zone_default=TZ,
        )
        assert result.value.energy_mix is not None
        assert [(i.category.value, i.amount) for i in result.value.energy_mix.environ_impact or []] == [
            ("NUCLEAR_WASTE", Decimal("0.00006")),
            ("CARBON_DIOXIDE", Decimal("372")),
        ]


def test_up_reports_unknown_fields_of_the_peer_as_lost(location211: v211.Location) -> None:
    data = json.loads(to_json(location211))
    data["evses"][0]["connectors"][0]["max_electric_power"] = 22000  # a 2.2.1 field in a 2.1.1 object
    data["x_vendor"] = True
    result = ov.location_up(
        v211.Location.model_validate(data), country_code="BE", party_id="BEC", time_zone_default=TZ
    )
    assert {"x_vendor", "evses[0].connectors[0].max_electric_power"} <= _paths(result, LossKind.LOST)
    assert result.value.evses and result.value.evses[0].connectors[0].max_electric_power is None
