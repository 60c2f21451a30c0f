"""One test per key of the ``locations`` section: changing the key changes the output as documented.

``test_every_key_has_a_test`` keeps this file complete: a new LocationRules field without a
``test_rule_<key>`` here fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from bridge.errors import MappingError
from mappings.locations import LocationRules
from tests.mappings.locations_support import (
    ocpi_connector,
    ocpi_evse,
    ocpi_location,
    oicp_record,
    to_ocpi,
    to_oicp,
)


def _one(location: Any = None, **overrides: Any) -> dict[str, Any]:
    records, _ = to_oicp(location or ocpi_location(), overrides)
    assert len(records) == 1
    return records[0]


def test_every_key_has_a_test() -> None:
    missing = [key for key in LocationRules.model_fields if f"test_rule_{key}" not in globals()]
    assert missing == []


# ---------------------------------------------------------------------------------------------
# OICP-only values


def test_rule_hotline_phone_number() -> None:
    assert _one(hotline_phone_number="+4930999999")["HotlinePhoneNumber"] == "+4930999999"


def test_rule_accessibility() -> None:
    assert _one()["Accessibility"] == "Free publicly accessible"
    assert _one(accessibility="Paying publicly accessible")["Accessibility"] == "Paying publicly accessible"


def test_rule_is_hubject_compatible() -> None:
    assert _one()["IsHubjectCompatible"] is True
    assert _one(is_hubject_compatible=False)["IsHubjectCompatible"] is False


def test_rule_dynamic_info_available() -> None:
    assert _one()["DynamicInfoAvailable"] == "auto"
    assert _one(dynamic_info_available="false")["DynamicInfoAvailable"] == "false"


def test_rule_calibration_law_data_availability() -> None:
    assert _one()["CalibrationLawDataAvailability"] == "Not Available"
    assert _one(calibration_law_data_availability="Local")["CalibrationLawDataAvailability"] == "Local"


def test_rule_authentication_modes() -> None:
    assert _one()["AuthenticationModes"] == ["NFC RFID Classic", "REMOTE"]
    assert _one(authentication_modes=["PnC"])["AuthenticationModes"] == ["PnC"]


def test_rule_payment_options() -> None:
    assert _one()["PaymentOptions"] == ["Contract"]
    assert _one(payment_options=["No Payment"])["PaymentOptions"] == ["No Payment"]


def test_rule_value_added_services() -> None:
    assert _one()["ValueAddedServices"] == ["None"]
    assert _one(value_added_services=["RoofProvided"])["ValueAddedServices"] == ["RoofProvided"]


def test_rule_evse_overrides() -> None:
    row = {"de-abc-e1": {"accessibility": "Test Station", "hotline_phone_number": "+4930111111"}}
    record = _one(evse_overrides=row)
    assert (record["Accessibility"], record["HotlinePhoneNumber"]) == ("Test Station", "+4930111111")
    assert record["IsHubjectCompatible"] is True  # values the row does not give stay


# ---------------------------------------------------------------------------------------------
# OCPI → OICP behaviour


def test_rule_unpublished_locations() -> None:
    private = ocpi_location(publish=False)
    assert to_oicp(private)[0] == []
    assert len(to_oicp(private, {"unpublished_locations": "translate"})[0]) == 1


def test_rule_missing_evse_id() -> None:
    location = ocpi_location(evses=[ocpi_evse(evse_id=None, uid="3256")])
    assert to_oicp(location)[0] == []
    assert _one(location, missing_evse_id="derive")["EvseID"] == "DE*ABC*E3256"


def test_rule_names_lang() -> None:
    assert _one()["ChargingStationNames"] == [{"lang": "en", "value": "Hof"}]
    assert _one(names_lang="de")["ChargingStationNames"] == [{"lang": "de", "value": "Hof"}]


@pytest.mark.parametrize(
    ("mode", "street", "number"),
    [
        ("auto", "Rue", "7"),
        ("number_last", "7 Rue", "0"),
        ("number_first", "Rue", "7"),
        ("none", "7 Rue", "0"),
    ],
)
def test_rule_address_split(mode: str, street: str, number: str) -> None:
    location = ocpi_location(address="7 Rue")
    address = _one(location, address_split=mode)["Address"]
    assert (address["Street"], address["HouseNum"]) == (street, number)


def test_rule_house_number_default() -> None:
    location = ocpi_location(address="Marktplatz")
    assert _one(location)["Address"]["HouseNum"] == "0"
    assert _one(location, house_number_default="-")["Address"]["HouseNum"] == "-"


def test_rule_postal_code_default() -> None:
    location = ocpi_location(postal_code=None)
    assert _one(location)["Address"]["PostalCode"] == "0"
    assert _one(location, postal_code_default="00000")["Address"]["PostalCode"] == "00000"


def test_rule_coordinates_format() -> None:
    assert _one()["GeoCoordinates"] == {"Google": {"Coordinates": "52.520008 13.404954"}}
    assert _one(coordinates_format="DecimalDegree")["GeoCoordinates"] == {
        "DecimalDegree": {"Longitude": "13.404954", "Latitude": "52.520008"}
    }


def test_rule_open_24_hours_when_unknown() -> None:
    assert _one()["IsOpen24Hours"] is True
    with pytest.raises(MappingError, match="opening_times"):
        _one(open_24_hours_when_unknown=False)


def test_rule_plugs() -> None:
    assert _one()["Plugs"] == ["Type 2 Outlet"]
    assert _one(plugs={"IEC_62196_T2/SOCKET": "Type 2 Connector (Cable Attached)"})["Plugs"] == [
        "Type 2 Connector (Cable Attached)"
    ]
    gbt = ocpi_location(evses=[ocpi_evse(connectors=[ocpi_connector(standard="GBT_AC")])])
    assert to_oicp(gbt)[0] == []
    assert _one(gbt, plugs={"GBT_AC": "Type 2 Outlet"})["Plugs"] == ["Type 2 Outlet"]


def test_rule_unmappable_connectors() -> None:
    gbt = ocpi_location(
        evses=[ocpi_evse(connectors=[ocpi_connector(standard="GBT_AC"), ocpi_connector(id="2")])]
    )
    assert _one(gbt)["Plugs"] == ["Type 2 Outlet"]
    with pytest.raises(MappingError, match="GBT_AC"):
        _one(gbt, unmappable_connectors="error")


def test_rule_evses_without_plugs() -> None:
    gbt = ocpi_location(evses=[ocpi_evse(connectors=[ocpi_connector(standard="GBT_AC")])])
    records, losses = to_oicp(gbt)
    assert records == [] and any(loss.path == "evses[0]" for loss in losses)
    with pytest.raises(MappingError, match="no connector"):
        to_oicp(gbt, {"evses_without_plugs": "error"})


def test_rule_power_types() -> None:
    split = ocpi_location(evses=[ocpi_evse(connectors=[ocpi_connector(power_type="AC_2_PHASE_SPLIT")])])
    assert _one(split)["ChargingFacilities"][0]["PowerType"] == "AC_1_PHASE"
    assert to_oicp(split, {"power_types": {"AC_2_PHASE_SPLIT": None}})[0] == []


def test_rule_power_rounding() -> None:
    location = ocpi_location(evses=[ocpi_evse(connectors=[ocpi_connector(max_electric_power=7400)])])
    assert _one(location)["ChargingFacilities"][0]["Power"] == 7
    assert _one(location, power_rounding="up")["ChargingFacilities"][0]["Power"] == 8


def test_rule_line_to_line_voltage_above() -> None:
    location = ocpi_location(evses=[ocpi_evse(connectors=[ocpi_connector(max_voltage=400)])])
    assert _one(location)["ChargingFacilities"][0]["Voltage"] == 231
    assert _one(location, line_to_line_voltage_above=None)["ChargingFacilities"][0]["Voltage"] == 400
    record = oicp_record(ChargingFacilities=[{"PowerType": "AC_3_PHASE", "Power": 22, "Voltage": 400}])
    assert to_ocpi([record])[0][0]["evses"][0]["connectors"][0]["max_voltage"] == 231
    assert (
        to_ocpi([record], {"line_to_line_voltage_above": 500})[0][0]["evses"][0]["connectors"][0][
            "max_voltage"
        ]
        == 400
    )


def test_rule_authentication_modes_from_capabilities() -> None:
    location = ocpi_location(evses=[ocpi_evse(capabilities=["RFID_READER"])])
    assert _one(location)["AuthenticationModes"] == ["NFC RFID Classic"]
    table = {"RFID_READER": ["NFC RFID Classic", "NFC RFID DESFire"]}
    assert _one(location, authentication_modes_from_capabilities=table)["AuthenticationModes"] == [
        "NFC RFID Classic",
        "NFC RFID DESFire",
    ]


def test_rule_authentication_modes_default() -> None:
    assert _one(authentication_modes_default=["REMOTE"])["AuthenticationModes"] == ["REMOTE"]


def test_rule_payment_options_from_capabilities() -> None:
    location = ocpi_location(evses=[ocpi_evse(capabilities=["PED_TERMINAL"])])
    assert _one(location)["PaymentOptions"] == ["Contract", "Direct"]
    assert _one(location, payment_options_from_capabilities={"PED_TERMINAL": []})["PaymentOptions"] == [
        "Contract"
    ]


def test_rule_payment_options_always() -> None:
    assert _one(payment_options_always=["Direct", "Contract"])["PaymentOptions"] == ["Direct", "Contract"]
    assert _one(payment_options_always=["No Payment", "Contract"])["PaymentOptions"] == ["No Payment"]


def test_rule_value_added_services_from_capabilities() -> None:
    location = ocpi_location(evses=[ocpi_evse(capabilities=["RESERVABLE", "CHARGING_PROFILE_CAPABLE"])])
    assert _one(location)["ValueAddedServices"] == ["Reservation"]
    table = {"CHARGING_PROFILE_CAPABLE": ["ChargingPlans"]}
    assert _one(location, value_added_services_from_capabilities=table)["ValueAddedServices"] == [
        "Reservation",
        "ChargingPlans",
    ]


def test_rule_accessibility_locations() -> None:
    location = ocpi_location(parking_type="ALONG_MOTORWAY")
    assert "AccessibilityLocation" not in _one(location)
    assert (
        _one(location, accessibility_locations={"ALONG_MOTORWAY": "OnStreet"})["AccessibilityLocation"]
        == "OnStreet"
    )


def test_rule_energy_sources() -> None:
    mix = {"is_green_energy": True, "energy_sources": [{"source": "GENERAL_GREEN", "percentage": 100}]}
    location = ocpi_location(energy_mix=mix)
    assert "EnergySource" not in _one(location)
    assert _one(location, energy_sources={"GENERAL_GREEN": "Wind"})["EnergySource"] == [
        {"Energy": "Wind", "Percentage": 99}
    ]


def test_rule_renewable_energy_default() -> None:
    assert _one()["RenewableEnergy"] is False
    assert _one(renewable_energy_default=True)["RenewableEnergy"] is True


# ---------------------------------------------------------------------------------------------
# OICP → OCPI behaviour


def _evse_ids(locations: list[dict[str, Any]]) -> list[list[str]]:
    return [[evse["evse_id"] for evse in location["evses"]] for location in locations]


def test_rule_group_by() -> None:
    a = oicp_record(EvseID="DE*ABC*E1", ChargingStationID="S1")
    b = oicp_record(EvseID="DE*ABC*E2", ChargingStationID="S2")
    assert _evse_ids(to_ocpi([a, b])[0]) == [["DE*ABC*E1", "DE*ABC*E2"]]  # same pool
    assert _evse_ids(to_ocpi([a, b], {"group_by": ["station"]})[0]) == [["DE*ABC*E1"], ["DE*ABC*E2"]]
    assert [loc["id"] for loc in to_ocpi([a, b], {"group_by": []})[0]] == ["S1", "S2"]


def test_rule_site_coordinate_decimals() -> None:
    site = {"ChargingPoolID": None, "ChargingStationID": None}
    a = {k: v for k, v in oicp_record(EvseID="DE*ABC*E1").items() if k not in site}
    b = {**a, "EvseID": "DE*ABC*E2", "GeoCoordinates": {"Google": {"Coordinates": "52.520308 13.404954"}}}
    assert len(to_ocpi([a, b])[0]) == 2  # 33 m apart
    assert len(to_ocpi([a, b], {"site_coordinate_decimals": 3})[0]) == 1


def test_rule_time_zone() -> None:
    assert to_ocpi([oicp_record()])[0][0]["time_zone"] == "Europe/Berlin"
    assert to_ocpi([oicp_record()], {"time_zone": "Europe/Busingen"})[0][0]["time_zone"] == "Europe/Busingen"


def test_rule_time_zones_by_country() -> None:
    record = oicp_record(Address={**oicp_record()["Address"], "Country": "ESP"})
    assert to_ocpi([record])[0] == []
    assert (
        to_ocpi([record], {"time_zones_by_country": {"ESP": "Europe/Madrid"}})[0][0]["time_zone"]
        == "Europe/Madrid"
    )


def test_rule_accessibility_to_ocpi() -> None:
    record = oicp_record(Accessibility="Restricted access")
    assert to_ocpi([record])[0][0]["publish"] is True
    assert (
        to_ocpi([record], {"accessibility_to_ocpi": {"Restricted access": "unpublished"}})[0][0]["publish"]
        is False
    )
    assert to_ocpi([record], {"accessibility_to_ocpi": {"Restricted access": "skip"}})[0] == []


def test_rule_plugs_to_ocpi() -> None:
    record = oicp_record(Plugs=["Tesla Connector"])
    connector = to_ocpi([record])[0][0]["evses"][0]["connectors"][0]
    assert (connector["standard"], connector["format"]) == ("TESLA_S", "CABLE")
    table = {"Tesla Connector": {"standard": "TESLA_R", "format": "SOCKET"}}
    connector = to_ocpi([record], {"plugs_to_ocpi": table})[0][0]["evses"][0]["connectors"][0]
    assert (connector["standard"], connector["format"]) == ("TESLA_R", "SOCKET")


def test_rule_capabilities_from_oicp() -> None:
    record = oicp_record(AuthenticationModes=["PnC"])
    assert "capabilities" not in to_ocpi([record])[0][0]["evses"][0]
    table = {"PnC": ["CHARGING_PREFERENCES_CAPABLE"]}
    assert to_ocpi([record], {"capabilities_from_oicp": table})[0][0]["evses"][0]["capabilities"] == [
        "CHARGING_PREFERENCES_CAPABLE"
    ]


def test_rule_energy_sources_to_ocpi() -> None:
    record = oicp_record(RenewableEnergy=True, EnergySource=[{"Energy": "Biomass", "Percentage": 40}])
    assert to_ocpi([record])[0][0]["energy_mix"]["energy_sources"] == [
        {"source": "GENERAL_GREEN", "percentage": 40}
    ]
    changed = to_ocpi([record], {"energy_sources_to_ocpi": {"Biomass": "SOLAR"}})[0][0]
    assert changed["energy_mix"]["energy_sources"] == [{"source": "SOLAR", "percentage": 40}]


def test_rule_default_voltage() -> None:
    record = oicp_record(ChargingFacilities=[{"PowerType": "DC", "Power": 50}], Plugs=["CHAdeMO"])
    assert to_ocpi([record])[0][0]["evses"][0]["connectors"][0]["max_voltage"] == 400
    assert (
        to_ocpi([record], {"default_voltage": {"DC": 500}})[0][0]["evses"][0]["connectors"][0]["max_voltage"]
        == 500
    )


def test_rule_din_operators() -> None:
    record = oicp_record(EvseID="+49*810*000*438")
    record.pop("ChargingPoolID")
    assert to_ocpi([record])[0] == []
    located = to_ocpi([record], {"din_operators": {"+49*810": "DE*XYZ"}})[0][0]
    assert (located["country_code"], located["party_id"]) == ("DE", "XYZ")


def test_rule_invalid_records() -> None:
    record = oicp_record(Address={**oicp_record()["Address"], "Country": "ESP"})
    assert (
        to_ocpi([record, oicp_record(EvseID="DE*ABC*E9", ChargingPoolID="DE*ABC*P2")])[0][0]["id"] == "LOC1"
    )
    with pytest.raises(MappingError):
        to_ocpi([record], {"invalid_records": "error"})
