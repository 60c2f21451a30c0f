"""Every JSON example of the OICP 2.3 spec parses into our models, round-trips, and what we emit
validates against the official JSON schemas (openapi-cpo / openapi-emp).

Examples are extracted at test time (tests/schema_oicp.py) from the two code-snippet chapters
and from every ``example`` of the two bundled OpenAPI files, then mapped explicitly to a model
(heading / JSON pointer → schema name → model). Hubject's examples contain three kinds of
illustrative values that the spec itself forbids; each is handled visibly here:

* ``EXPLODED``: an Identification listing all five options (or GeoCoordinates listing all
  three formats) to show the alternatives. IdentificationType / GeoCoordinatesType say exactly
  one MUST be provided: the example as written must fail, and each option alone must pass.
* ``REPAIRS``: placeholders such as ``"SessionID": "string"`` or a 9-character UID. The example
  must parse (ingress is tolerant), must fail our strict egress or the official schema, and after
  replacing exactly the documented placeholders must pass both.
* oicp-2.3.md §8 point 5 spellings: we emit the implemented spelling; before schema validation
  ``schema_oicp.openapi_spelling`` rewrites it into the OpenAPI's (see its rename tables).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import tests.schema_oicp as schema_oicp
from bridge.oicp.models import (
    UID,
    Accessibility,
    Acknowledgement,
    Address,
    AuthorizationStart,
    AuthorizationStop,
    AuthorizeRemoteReservationStart,
    AuthorizeRemoteReservationStop,
    AuthorizeRemoteStart,
    AuthorizeRemoteStop,
    AuthorizeStart,
    AuthorizeStop,
    ChargeDetailRecord,
    ChargingNotificationAdapter,
    ChargingNotificationEnd,
    ChargingNotificationError,
    ChargingNotificationProgress,
    ChargingNotificationStart,
    ChargingNotificationType,
    ChargingPoolID,
    EvcoID,
    EvseID,
    GetChargeDetailRecords,
    GetChargeDetailRecordsResponse,
    HashedPIN,
    HashFunction,
    LegacyHashData,
    LegacyHashFunction,
    OicpEgressError,
    OpeningTimes,
    OperatorID,
    Pageable,
    PaymentOption,
    PlugAndChargeIdentification,
    PricingProductDataRecord,
    ProductID,
    ProviderID,
    ProviderIDAsterisk,
    PullEvseData,
    PullEvseDataResponse,
    PullEVSEPricing,
    PullEVSEPricingResponse,
    PullEvseStatus,
    PullEvseStatusByID,
    PullEvseStatusByIDResponse,
    PullEvseStatusByOperatorID,
    PullEvseStatusResponse,
    PullPricingProductData,
    PushAuthenticationData,
    PushEvseData,
    PushEVSEPricing,
    PushEvseStatus,
    PushPricingProductData,
    ReferenceUnit,
    RemoteIdentification,
    RFIDIdentification,
    RFIDMifareFamilyIdentification,
    SessionID,
    StatusCode,
    to_jsonable,
)
from bridge.oicp.models import (
    Plug as PlugEnum,
)
from bridge.oicp.models.evse_data import GeoCoordinatesDecimalDegree, GeoCoordinatesDegreeMinuteSeconds
from bridge.oicp.models.evse_data import GeoCoordinatesGoogle as Google
from tests.schema_oicp import (
    SpecExample,
    has_schema,
    oicp_schema_errors,
    oicp_schema_errors_at,
    openapi_spelling,
)

# ---------------------------------------------------------------------------------------------
# Explicit mapping: OpenAPI schema name -> model


@dataclass(frozen=True)
class Target:
    """How to parse and dump one example, and which official schema checks the result."""

    name: str
    parse: Callable[[Any], Any]
    dump: Callable[[Any, bool], Any]
    expected_type: type | None = None


def model_target(model: type[BaseModel]) -> Target:
    def dump(value: Any, strict: bool) -> Any:
        return to_jsonable(value, strict=strict)

    return Target(model.__name__, model.model_validate, dump, model)


def notification_target(model: type[BaseModel]) -> Target:
    """Notifications are parsed through the discriminated union, which must pick ``model``."""

    def dump(value: Any, strict: bool) -> Any:
        return to_jsonable(value, strict=strict)

    return Target(model.__name__, ChargingNotificationAdapter.validate_python, dump, model)


def type_target(name: str, annotation: Any) -> Target:
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)

    def dump(value: Any, strict: bool) -> Any:
        context = None if strict else {"oicp_lenient_egress": True}
        return adapter.dump_python(value, mode="json", context=context)

    return Target(name, adapter.validate_python, dump)


def field_target(model: type[BaseModel], attribute: str) -> Target:
    """The type of one field of a model, with its Annotated metadata (e.g. the egress check)."""
    field = model.model_fields[attribute]
    annotation: Any = field.annotation
    for meta in reversed(field.metadata):
        annotation = Annotated[annotation, meta]
    return type_target(f"{model.__name__}.{attribute}", annotation)


SCHEMA_TARGETS: dict[str, Target] = {
    # messages
    "eRoamingAcknowledgment": model_target(Acknowledgement),
    "eRoamingAuthorizationStart": model_target(AuthorizationStart),
    "eRoamingAuthorizationStop": model_target(AuthorizationStop),
    "eRoamingAuthorizeRemoteReservationStart": model_target(AuthorizeRemoteReservationStart),
    "eRoamingAuthorizeRemoteReservationStop": model_target(AuthorizeRemoteReservationStop),
    "eRoamingAuthorizeRemoteStart": model_target(AuthorizeRemoteStart),
    "eRoamingAuthorizeRemoteStop": model_target(AuthorizeRemoteStop),
    "eRoamingAuthorizeStart": model_target(AuthorizeStart),
    "eRoamingAuthorizeStop": model_target(AuthorizeStop),
    "eRoamingChargeDetailRecord": model_target(ChargeDetailRecord),
    "eRoamingChargeDetailRecords": model_target(GetChargeDetailRecordsResponse),
    "eRoamingChargingNotificationStart": notification_target(ChargingNotificationStart),
    "eRoamingChargingNotificationProgress": notification_target(ChargingNotificationProgress),
    "eRoamingChargingNotificationEnd": notification_target(ChargingNotificationEnd),
    "eRoamingChargingNotificationError": notification_target(ChargingNotificationError),
    "eRoamingEVSEData": model_target(PullEvseDataResponse),
    "eRoamingEVSEPricing": model_target(PullEVSEPricingResponse),
    "eRoamingEVSEStatus": model_target(PullEvseStatusResponse),
    "eRoamingEVSEStatusByID": model_target(PullEvseStatusByIDResponse),
    "eRoamingGetChargeDetailRecords": model_target(GetChargeDetailRecords),
    "eRoamingPullEVSEData": model_target(PullEvseData),
    "eRoamingPullEVSEPricing": model_target(PullEVSEPricing),
    "eRoamingPullEVSEStatus": model_target(PullEvseStatus),
    "eRoamingPullEVSEStatusByID": model_target(PullEvseStatusByID),
    "eRoamingPullEVSEStatusByOperatorID": model_target(PullEvseStatusByOperatorID),
    "eRoamingPullPricingProductData": model_target(PullPricingProductData),
    "eRoamingPushAuthenticationData": model_target(PushAuthenticationData),
    "eRoamingPushEVSEPricing": model_target(PushEVSEPricing),
    "eRoamingPushEvseData": model_target(PushEvseData),
    "eRoamingPushEvseStatus": model_target(PushEvseStatus),
    "eRoamingPushPricingProductData": model_target(PushPricingProductData),
    # component types with an example
    "OpeningTimes": model_target(OpeningTimes),
    "PlugAndChargeIdentification": model_target(PlugAndChargeIdentification),
    "RFIDIdentification": model_target(RFIDIdentification),
    "RFIDMifareFamilyIdentification": model_target(RFIDMifareFamilyIdentification),
    "RemoteIdentification": model_target(RemoteIdentification),
    "StatusCode": model_target(StatusCode),
    # scalar component types with an example
    "Accessibility": type_target("Accessibility", Accessibility),
    "ChargingNotificationType": type_target("ChargingNotificationType", ChargingNotificationType),
    "ChargingPoolID": type_target("ChargingPoolID", ChargingPoolID),
    "CurrencyID": field_target(PricingProductDataRecord, "product_price_currency"),
    "EvcoID": type_target("EvcoID", EvcoID),
    "EvseID": type_target("EvseID", EvseID),
    "OperatorID": type_target("OperatorID", OperatorID),
    "PaymentOption": type_target("PaymentOption", PaymentOption),
    "Plug": type_target("Plug", PlugEnum),
    "ProductID": type_target("ProductID", ProductID),
    "ProviderID": type_target("ProviderID", ProviderID),
    "ProviderIDAsterisk": type_target("ProviderIDAsterisk", ProviderIDAsterisk),
    "ReferenceUnit": type_target("ReferenceUnit", ReferenceUnit),
    "SessionID": type_target("SessionID", SessionID),
    "UID": type_target("UID", UID),
}

#: Examples of single properties (OpenAPI JSON pointer below /components/schemas, without
#: the trailing /example) -> the type of the field that carries that property.
PROPERTY_TARGETS: dict[str, Target] = {
    "AddressIso19773/properties/TimeZone": field_target(Address, "time_zone"),
    "EvseDataRecord/properties/Address/properties/TimeZone": field_target(Address, "time_zone"),
    "EvseDataRecord/properties/ChargingPoolID": type_target("ChargingPoolID", ChargingPoolID),
    "EvseDataRecord/properties/Plugs/items": type_target("Plug", PlugEnum),
    "EvseDataRecord/properties/PaymentOptions/items": type_target("PaymentOption", PaymentOption),
    "EvseDataRecord/properties/Accessibility": type_target("Accessibility", Accessibility),
    "eRoamingAuthorizeRemoteReservationStart/properties/Duration": field_target(
        AuthorizeRemoteReservationStart, "duration"
    ),
    "GeoCoordinates/properties/Google/properties/Coordinates": field_target(Google, "coordinates"),
    "GeoCoordinates/properties/DecimalDegree/properties/Longitude": field_target(
        GeoCoordinatesDecimalDegree, "longitude"
    ),
    "GeoCoordinates/properties/DecimalDegree/properties/Latitude": field_target(
        GeoCoordinatesDecimalDegree, "latitude"
    ),
    "GeoCoordinates/properties/DegreeMinuteSeconds/properties/Longitude": field_target(
        GeoCoordinatesDegreeMinuteSeconds, "longitude"
    ),
    "GeoCoordinates/properties/DegreeMinuteSeconds/properties/Latitude": field_target(
        GeoCoordinatesDegreeMinuteSeconds, "latitude"
    ),
    "QRCodeIdentification/properties/HashedPIN/properties/Value": field_target(HashedPIN, "value"),
    "QRCodeIdentification/properties/HashedPIN/properties/Function": type_target(
        "HashFunction", HashFunction
    ),
    "QRCodeIdentification/properties/HashedPIN/properties/LegacyHashData/properties/Function": type_target(
        "LegacyHashFunction", LegacyHashFunction
    ),
    "QRCodeIdentification/properties/HashedPIN/properties/LegacyHashData/properties/Salt": field_target(
        LegacyHashData, "salt"
    ),
    "QRCodeIdentification/properties/HashedPIN/properties/LegacyHashData/properties/Value": field_target(
        LegacyHashData, "value"
    ),
    "eRoamingChargeDetailRecords/properties/pageable/properties/pageSize": field_target(
        Pageable, "page_size"
    ),
    "eRoamingChargeDetailRecords/properties/pageable/properties/pageNumber": field_target(
        Pageable, "page_number"
    ),
    "eRoamingChargeDetailRecords/properties/pageable/properties/offset": field_target(Pageable, "offset"),
    "eRoamingChargeDetailRecords/properties/pageable/properties/paged": field_target(Pageable, "paged"),
    "eRoamingChargeDetailRecords/properties/pageable/properties/unpaged": field_target(Pageable, "unpaged"),
    "eRoamingChargeDetailRecords/properties/empty": field_target(GetChargeDetailRecordsResponse, "empty"),
}

#: Code-snippet chapters: "<side>:snippet:<chapter heading>:<Request|Response>" -> schema name.
SNIPPET_SCHEMAS: dict[str, str] = {
    "cpo:snippet:eRoamingPushEvseData:Request": "eRoamingPushEvseData",
    "cpo:snippet:eRoamingPushEvseData:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingPushEVSEStatus:Request": "eRoamingPushEvseStatus",
    "cpo:snippet:eRoamingPushEVSEStatus:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingAuthorizeStart:Request": "eRoamingAuthorizeStart",
    "cpo:snippet:eRoamingAuthorizeStart:Response": "eRoamingAuthorizationStart",
    "cpo:snippet:eRoamingAuthorizeStop:Request": "eRoamingAuthorizeStop",
    "cpo:snippet:eRoamingAuthorizeStop:Response": "eRoamingAuthorizationStop",
    "cpo:snippet:eRoamingAuthorizeRemoteStart:Request": "eRoamingAuthorizeRemoteStart",
    "cpo:snippet:eRoamingAuthorizeRemoteStart:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingAuthorizeRemoteStop:Request": "eRoamingAuthorizeRemoteStop",
    "cpo:snippet:eRoamingAuthorizeRemoteStop:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingChargeDetailRecord:Request": "eRoamingChargeDetailRecord",
    "cpo:snippet:eRoamingChargeDetailRecord:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingRemoteReservationStart:Request": "eRoamingAuthorizeRemoteReservationStart",
    "cpo:snippet:eRoamingRemoteReservationStart:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingRemoteReservationStop:Request": "eRoamingAuthorizeRemoteReservationStop",
    "cpo:snippet:eRoamingRemoteReservationStop:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingPushEVSEPricing:Request": "eRoamingPushEVSEPricing",
    "cpo:snippet:eRoamingPushEVSEPricing:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingPushPricingProductData:Request": "eRoamingPushPricingProductData",
    "cpo:snippet:eRoamingPushPricingProductData:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingChargingNotificationStart:Request": "eRoamingChargingNotificationStart",
    "cpo:snippet:eRoamingChargingNotificationStart:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingChargingNotificationProgress:Request": "eRoamingChargingNotificationProgress",
    "cpo:snippet:eRoamingChargingNotificationProgress:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingChargingNotificationEnd:Request": "eRoamingChargingNotificationEnd",
    "cpo:snippet:eRoamingChargingNotificationEnd:Response": "eRoamingAcknowledgment",
    "cpo:snippet:eRoamingChargingNotificationError:Request": "eRoamingChargingNotificationError",
    "cpo:snippet:eRoamingChargingNotificationError:Response": "eRoamingAcknowledgment",
    "emp:snippet:eRoamingPullEVSEData:Request": "eRoamingPullEVSEData",
    "emp:snippet:eRoamingPullEVSEData:Response": "eRoamingEVSEData",
    "emp:snippet:eRoamingPullEVSEStatus:Request": "eRoamingPullEVSEStatus",
    "emp:snippet:eRoamingPullEVSEStatus:Response": "eRoamingEVSEStatus",
    "emp:snippet:eRoamingAuthorizeStart:Request": "eRoamingAuthorizeStart",
    "emp:snippet:eRoamingAuthorizeStart:Response": "eRoamingAuthorizationStart",
    "emp:snippet:eRoamingAuthorizeStop:Request": "eRoamingAuthorizeStop",
    "emp:snippet:eRoamingAuthorizeStop:Response": "eRoamingAuthorizationStop",
    "emp:snippet:eRoamingAuthorizeRemoteStart:Request": "eRoamingAuthorizeRemoteStart",
    "emp:snippet:eRoamingAuthorizeRemoteStart:Response": "eRoamingAcknowledgment",
    "emp:snippet:eRoamingAuthorizeRemoteStop:Request": "eRoamingAuthorizeRemoteStop",
    "emp:snippet:eRoamingAuthorizeRemoteStop:Response": "eRoamingAcknowledgment",
    "emp:snippet:eRoamingGetChargeDetailRecord:Request": "eRoamingGetChargeDetailRecords",
    "emp:snippet:eRoamingGetChargeDetailRecord:Response": "eRoamingChargeDetailRecords",
    "emp:snippet:eRoamingRemoteReservationStart:Request": "eRoamingAuthorizeRemoteReservationStart",
    "emp:snippet:eRoamingRemoteReservationStart:Response": "eRoamingAcknowledgment",
    "emp:snippet:eRoamingRemoteReservationStop:Request": "eRoamingAuthorizeRemoteReservationStop",
    "emp:snippet:eRoamingRemoteReservationStop:Response": "eRoamingAcknowledgment",
    "emp:snippet:eRoamingPullEVSEStatusByID:Request": "eRoamingPullEVSEStatusByID",
    "emp:snippet:eRoamingPullEVSEStatusByID:Response": "eRoamingEVSEStatusByID",
    "emp:snippet:eRoamingPullEVSEStatusByOperatorID:Request": "eRoamingPullEVSEStatusByOperatorID",
    "emp:snippet:eRoamingPullEVSEStatusByOperatorID:Response": "eRoamingEVSEStatus",
    "emp:snippet:eRoamingPushAuthenticationData:Request": "eRoamingPushAuthenticationData",
    "emp:snippet:eRoamingPushAuthenticationData:Response": "eRoamingAcknowledgment",
    "emp:snippet:eRoamingPullEVSEPricing:Request": "eRoamingPullEVSEPricing",
    "emp:snippet:eRoamingPullEVSEPricing:Response": "eRoamingEVSEPricing",
    "emp:snippet:eRoamingPullPricingProductData:Request": "eRoamingPullPricingProductData",
    # Snippet defect: the chapter shows an eRoamingAcknowledgement where the operation answers
    # eRoamingPricingProductData; it is mapped to what it is.
    "emp:snippet:eRoamingPullPricingProductData:Response": "eRoamingAcknowledgment",
    "emp:snippet:eRoamingChargingNotificationStart:Request": "eRoamingChargingNotificationStart",
    "emp:snippet:eRoamingChargingNotificationStart:Response": "eRoamingAcknowledgment",
    "emp:snippet:eRoamingChargingNotificationProgress:Request": "eRoamingChargingNotificationProgress",
    "emp:snippet:eRoamingChargingNotificationProgress:Response": "eRoamingAcknowledgment",
    "emp:snippet:eRoamingChargingNotificationEnd:Request": "eRoamingChargingNotificationEnd",
    "emp:snippet:eRoamingChargingNotificationEnd:Response": "eRoamingAcknowledgment",
    "emp:snippet:eRoamingChargingNotificationError:Request": "eRoamingChargingNotificationError",
    "emp:snippet:eRoamingChargingNotificationError:Response": "eRoamingAcknowledgment",
}

#: Blocks that cannot be used at all (e.g. not valid JSON): key -> reason. Currently none: all
#: 182 blocks of the two snippet chapters and the two OpenAPI files are valid JSON.
EXCLUDED: dict[str, str] = {}


@dataclass(frozen=True)
class Mapped:
    target: Target
    pointer: str  # the official schema that checks what we emit
    schema_name: str | None  # for openapi_spelling; None for property schemas


def mapping(example: SpecExample) -> Mapped | None:
    """The explicit mapping of one example, or None when it is not mapped."""
    if example.key in SNIPPET_SCHEMAS:
        name = SNIPPET_SCHEMAS[example.key]
        return Mapped(SCHEMA_TARGETS[name], f"/components/schemas/{name}", name)
    pointer = example.key.split(":openapi:", 1)[-1]
    if ":openapi:" not in example.key or not pointer.startswith("/components/schemas/"):
        return None
    schema_pointer = pointer.removesuffix("/example")
    inner = schema_pointer.removeprefix("/components/schemas/")
    if "/" not in inner and inner in SCHEMA_TARGETS:
        return Mapped(SCHEMA_TARGETS[inner], schema_pointer, inner)
    if inner in PROPERTY_TARGETS:
        return Mapped(PROPERTY_TARGETS[inner], schema_pointer, None)
    return None


ALL_EXAMPLES = schema_oicp.all_examples()
USABLE = [example for example in ALL_EXAMPLES if example.key not in EXCLUDED]


# ---------------------------------------------------------------------------------------------
# One-of explosions and placeholder repairs

ONE_OF_GROUPS: dict[str, tuple[str, ...]] = {
    "Identification": (
        "RFIDMifareFamilyIdentification",
        "RFIDIdentification",
        "QRCodeIdentification",
        "PlugAndChargeIdentification",
        "RemoteIdentification",
    ),
    "GeoCoordinates": ("Google", "DecimalDegree", "DegreeMinuteSeconds"),
}
#: Keys whose value is such a one-of object (list items included).
ONE_OF_KEYS = {
    "Identification": "Identification",
    "AuthorizationStopIdentifications": "Identification",
    "GeoCoordinates": "GeoCoordinates",
    "GeoChargingPointEntrance": "GeoCoordinates",
}


def _one_of_variants(value: Any) -> list[Any]:
    """Every single-option variant of the first multi-option one-of object, recursively."""
    found: list[tuple[list[Any], str]] = []

    def search(node: Any, path: list[Any], group: str | None) -> None:
        if found:
            return
        if isinstance(node, dict):
            if group is not None:
                present = [key for key in ONE_OF_GROUPS[group] if node.get(key) is not None]
                if len(present) > 1:
                    found.append((path, group))
                    return
            for key, item in node.items():
                search(item, [*path, key], ONE_OF_KEYS.get(key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                search(item, [*path, index], group)

    search(value, [], None)
    if not found:
        return [value]
    path, group = found[0]
    variants = []
    parent_path, last = path[:-1], path[-1]
    original = value
    for node_key in path:
        original = original[node_key]
    for option in ONE_OF_GROUPS[group]:
        if original.get(option) is None:
            continue
        variant = copy.deepcopy(value)
        holder = variant
        for node_key in parent_path:
            holder = holder[node_key]
        holder[last] = {option: original[option]}
        variants.extend(_one_of_variants(variant))
    return variants


#: Examples illustrating every option of a one-of type at once (forbidden by the spec text,
#: IdentificationType / GeoCoordinatesType "One of the following … MUST be provided").
EXPLODED: set[str] = (
    {
        f"{side}:snippet:{chapter}"
        for side, chapter in (
            ("cpo", "eRoamingAuthorizeStart:Request"),
            ("cpo", "eRoamingAuthorizeStart:Response"),
            ("cpo", "eRoamingAuthorizeStop:Request"),
            ("cpo", "eRoamingAuthorizeRemoteStart:Request"),
            ("cpo", "eRoamingChargeDetailRecord:Request"),
            ("cpo", "eRoamingRemoteReservationStart:Request"),
            ("emp", "eRoamingPullEVSEData:Request"),
            ("emp", "eRoamingPullEVSEStatus:Request"),
            ("emp", "eRoamingAuthorizeStart:Request"),
            ("emp", "eRoamingAuthorizeStart:Response"),
            ("emp", "eRoamingAuthorizeStop:Request"),
            ("emp", "eRoamingAuthorizeRemoteStart:Request"),
            ("emp", "eRoamingGetChargeDetailRecord:Response"),
            ("emp", "eRoamingRemoteReservationStart:Request"),
            ("emp", "eRoamingPushAuthenticationData:Request"),
        )
    }
    | {
        f"{side}:openapi:/components/schemas/{schema}/example"
        for side in ("cpo", "emp")
        for schema in (
            "eRoamingAuthorizationStart",
            "eRoamingAuthorizeRemoteReservationStart",
            "eRoamingAuthorizeRemoteStart",
            "eRoamingAuthorizeStart",
            "eRoamingAuthorizeStop",
            "eRoamingChargeDetailRecord",
        )
    }
    | {
        "emp:openapi:/components/schemas/eRoamingChargeDetailRecords/example",
        "emp:openapi:/components/schemas/eRoamingPullEVSEData/example",
        "emp:openapi:/components/schemas/eRoamingPullEVSEStatus/example",
    }
)


@dataclass(frozen=True)
class Repair:
    """Replace ``bad`` under ``key`` (inside an object held under ``parent``, any parent if None)."""

    name: str
    parent: str | None
    key: str
    bad: Any
    good: Any
    why: str
    #: Only below one of these keys (None: anywhere).
    within: tuple[str, ...] | None = None


#: Where an Identification is a modelled field (not an unknown field that is forwarded as is).
IDENTIFICATIONS = ("Identification", "AuthorizationStopIdentifications")


REPAIRS: tuple[Repair, ...] = (
    Repair("SessionID", None, "SessionID", "string", "f98efba4-02d8-4fa0-b810-9a9d50d2c527", "not a GUID"),
    Repair("UID", None, "UID", "12345ABCD", "1234ABCD", "9 hex characters is no 4/7/10-byte UID"),
    Repair("EvcoID", None, "EvcoID", "string", "DE-DCB-C12345678-X", "not an EvcoID"),
    Repair(
        "HashValue",
        "HashedPIN",
        "Value",
        "string",
        "string123456",
        "HashValue needs 10 to 100 characters",
        within=IDENTIFICATIONS,
    ),
    Repair("Google", "Google", "Coordinates", "string", "52.480495 13.356465", "not 'lat lon'"),
    Repair("DecimalDegree", "DecimalDegree", "Latitude", "string", "52.480495", "not a decimal degree"),
    Repair("DecimalDegree", "DecimalDegree", "Longitude", "string", "13.356465", "not a decimal degree"),
    Repair("DMS", "DegreeMinuteSeconds", "Latitude", "string", "52°28'49.78''", "not degree-minute-seconds"),
    Repair("DMS", "DegreeMinuteSeconds", "Longitude", "string", "13°21'23.27''", "not degree-minute-seconds"),
    Repair("StatusCode", None, "StatusCode", None, {"Code": "000"}, "the page schema requires a StatusCode"),
)

_PLACEHOLDER_ACKS = {
    "cpo:snippet:eRoamingPushEvseData:Response",
    "cpo:snippet:eRoamingPushEVSEStatus:Response",
    "cpo:snippet:eRoamingPushEVSEPricing:Response",
    "cpo:snippet:eRoamingPushPricingProductData:Response",
    "emp:snippet:eRoamingPushAuthenticationData:Response",
    "emp:snippet:eRoamingPullPricingProductData:Response",
}
#: Which documented placeholders each example needs replaced (exact, asserted).
EXPECTED_REPAIRS: dict[str, set[str]] = {
    **{key: {"SessionID"} for key in _PLACEHOLDER_ACKS},
    "cpo:snippet:eRoamingAuthorizeStart:Request": {"UID", "HashValue"},
    "cpo:snippet:eRoamingAuthorizeStart:Response": {"HashValue"},
    "cpo:snippet:eRoamingAuthorizeStop:Request": {"UID", "HashValue"},
    "cpo:snippet:eRoamingAuthorizeRemoteStart:Request": {"SessionID", "HashValue"},
    "cpo:snippet:eRoamingChargeDetailRecord:Request": {"SessionID", "EvcoID", "HashValue"},
    "cpo:snippet:eRoamingRemoteReservationStart:Request": {"SessionID", "HashValue"},
    "emp:snippet:eRoamingPullEVSEData:Request": {"Google", "DecimalDegree", "DMS"},
    "emp:snippet:eRoamingPullEVSEStatus:Request": {"Google", "DecimalDegree", "DMS"},
    "emp:snippet:eRoamingAuthorizeStart:Request": {"UID", "HashValue"},
    "emp:snippet:eRoamingAuthorizeStart:Response": {"UID", "HashValue"},
    "emp:snippet:eRoamingAuthorizeStop:Request": {"UID", "HashValue"},
    "emp:snippet:eRoamingAuthorizeRemoteStart:Request": {"SessionID", "HashValue"},
    "emp:snippet:eRoamingGetChargeDetailRecord:Request": {"SessionID"},
    "emp:snippet:eRoamingGetChargeDetailRecord:Response": {"SessionID", "HashValue", "StatusCode"},
    "emp:snippet:eRoamingRemoteReservationStart:Request": {"SessionID", "HashValue"},
    "emp:snippet:eRoamingPushAuthenticationData:Request": {"UID", "HashValue"},
}


def apply_repairs(value: Any) -> tuple[Any, set[str]]:
    """A copy of ``value`` with the documented placeholders replaced, and the repairs used."""
    used: set[str] = set()

    def fix(node: Any, parent: str | None, ancestors: frozenset[str]) -> Any:
        if isinstance(node, dict):
            result = {}
            for key, item in node.items():
                for repair in REPAIRS:
                    if repair.key != key or repair.parent not in (None, parent):
                        continue
                    if repair.within is not None and not ancestors.intersection(repair.within):
                        continue
                    if item == repair.bad:
                        item = copy.deepcopy(repair.good)
                        used.add(repair.name)
                    elif isinstance(item, list) and repair.bad in item:
                        item = [
                            copy.deepcopy(repair.good) if entry == repair.bad else entry for entry in item
                        ]
                        used.add(repair.name)
                result[key] = fix(item, key, ancestors | {key})
            return result
        if isinstance(node, list):
            return [fix(item, parent, ancestors) for item in node]
        return node

    return fix(value, None, frozenset()), used


# ---------------------------------------------------------------------------------------------
# Implemented spellings of the examples themselves (what we must emit for them)


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def implemented_spelling(value: Any, schema_name: str | None) -> Any:
    """The example as we emit it: nulls omitted, oicp-2.3.md §8 point 5 alternates renamed."""
    value = without_nulls(value)
    if schema_name == "eRoamingEVSEData":
        # Hubject's EMP snippet spells the pull record's OperatorID "OperatorId".
        value = copy.deepcopy(value)
        for record in value["content"]:
            if "OperatorId" in record:
                record["OperatorID"] = record.pop("OperatorId")
    if schema_name == "eRoamingChargingNotificationError" and value["ErrorType"] == "Connector Error":
        # The EMP snippet writes the ErrorClassType with a space; the enum value has none.
        value = {**value, "ErrorType": "ConnectorError"}
    if schema_name == "eRoamingGetChargeDetailRecords" and isinstance(value.get("OperatorID"), str):
        # The OpenAPI example has a scalar OperatorID; we emit the implemented array.
        value = {**value, "OperatorID": [value["OperatorID"]]}
    return value


# ---------------------------------------------------------------------------------------------
# Tests


def test_every_example_is_mapped() -> None:
    assert len(ALL_EXAMPLES) == 182
    invalid_json = [example.key for example in ALL_EXAMPLES if example.error is not None]
    assert sorted(invalid_json) == sorted(EXCLUDED)
    unmapped = [example.key for example in USABLE if mapping(example) is None]
    assert unmapped == []
    snippet_keys = {example.key for example in ALL_EXAMPLES if ":snippet:" in example.key}
    assert snippet_keys == set(SNIPPET_SCHEMAS), "a snippet heading changed or a mapping is stale"


def test_documented_defects_are_exact() -> None:
    exploded = {example.key for example in USABLE if len(_one_of_variants(example.value)) > 1}
    assert exploded == EXPLODED
    repaired = {}
    for example in USABLE:
        used: set[str] = set()
        for variant in _one_of_variants(example.value):
            used |= apply_repairs(variant)[1]
        if used:
            repaired[example.key] = used
    assert repaired == EXPECTED_REPAIRS


def _schema_sides(mapped: Mapped, example: SpecExample) -> list[schema_oicp.Side]:
    """The example's own side, plus the other side when its OpenAPI defines the same schema."""
    sides: list[schema_oicp.Side] = [example.side]
    other: schema_oicp.Side = "emp" if example.side == "cpo" else "cpo"
    if mapped.schema_name is not None and has_schema(mapped.schema_name, other):
        sides.append(other)
    return sides


def _official_errors(emitted: Any, mapped: Mapped, side: schema_oicp.Side) -> list[str]:
    if mapped.schema_name is None:
        return oicp_schema_errors_at(emitted, mapped.pointer, side)
    # oicp-2.3.md §8 point 5: translate our implemented spellings into the OpenAPI's first, so
    # that renamed fields are checked by the schema rather than passing as unknown properties.
    return oicp_schema_errors(openapi_spelling(emitted, mapped.schema_name, side), mapped.schema_name, side)


def _strict_problems(target: Target, model: Any, mapped: Mapped, example: SpecExample) -> list[str]:
    try:
        emitted = target.dump(model, True)
    except OicpEgressError as exc:
        return [f"egress: {exc}"]
    problems = []
    for side in _schema_sides(mapped, example):
        problems += [f"{side}: {error}" for error in _official_errors(emitted, mapped, side)]
    return problems


@pytest.mark.parametrize("example", USABLE, ids=lambda example: example.key)
def test_example_parses_round_trips_and_validates(example: SpecExample) -> None:
    mapped = mapping(example)
    assert mapped is not None
    target = mapped.target
    variants = _one_of_variants(example.value)
    if example.key in EXPLODED:
        with pytest.raises(ValidationError, match="exactly one of"):
            target.parse(example.value)
    else:
        assert variants == [example.value]

    for variant in variants:
        model = target.parse(variant)
        if target.expected_type is not None:
            assert type(model) is target.expected_type

        # Lossless: what we emit (leniently, i.e. as received) is the example itself, with nulls
        # omitted and alternate spellings replaced by the implemented ones, and parses back equal.
        emitted = target.dump(model, False)
        if isinstance(variant, dict | list):
            assert emitted == implemented_spelling(variant, mapped.schema_name)
        else:
            assert emitted == variant
        assert target.parse(emitted) == model

        repaired, used = apply_repairs(variant)
        if used:
            # The placeholders are real defects: strict egress or the official schema rejects them.
            assert _strict_problems(target, model, mapped, example), f"{used} repaired needlessly"
            model = target.parse(repaired)
        assert _strict_problems(target, model, mapped, example) == []


def test_pull_record_operator_id_spelling_from_the_snippet() -> None:
    """The EMP snippet's pull record says ``OperatorId``: accepted, ``OperatorID`` emitted."""
    example = next(e for e in ALL_EXAMPLES if e.key == "emp:snippet:eRoamingPullEVSEData:Response")
    assert "OperatorId" in example.value["content"][0]
    page = PullEvseDataResponse.model_validate(example.value)
    assert page.content[0].operator_id == "DE*ABC"
    emitted = to_jsonable(page)
    assert emitted["content"][0]["OperatorID"] == "DE*ABC"
    assert "OperatorId" not in emitted["content"][0]


def test_misplaced_identifications_of_the_push_authentication_example_are_kept() -> None:
    """The EMP OpenAPI PushAuthenticationData example has four options indented as siblings of
    ``Identification``: the record parses (one option inside Identification) and forwards the
    siblings as unknown fields."""
    example = next(
        e
        for e in ALL_EXAMPLES
        if e.key == "emp:openapi:/components/schemas/eRoamingPushAuthenticationData/example"
    )
    push = PushAuthenticationData.model_validate(example.value)
    record = push.provider_authentication_data.authentication_data_record[0]
    assert record.identification.uid == "1234ABCD"
    assert set(record.model_extra or {}) == {
        "QRCodeIdentification",
        "PlugAndChargeIdentification",
        "RemoteIdentification",
        "RFIDIdentification",
    }
    assert (
        "RFIDIdentification" in to_jsonable(push)["ProviderAuthenticationData"]["AuthenticationDataRecord"][0]
    )


def test_schema_helper_rejects_what_the_schema_forbids() -> None:
    with pytest.raises(schema_oicp.OicpSchemaError, match="'Result' is a required property"):
        schema_oicp.validate_oicp({"StatusCode": {"Code": "000"}}, "eRoamingAcknowledgment", "cpo")
    with pytest.raises(schema_oicp.OicpSchemaError, match="does not match"):
        schema_oicp.validate_oicp("DE-ABC-E1", "EvseID", "emp")
    with pytest.raises(schema_oicp.OicpSchemaError, match="is not a 'date-time'"):
        schema_oicp.validate_oicp(
            {"ProviderID": "DE-DCB", "From": "yesterday", "To": "2020-09-23T14:20:10Z"},
            "eRoamingGetChargeDetailRecords",
            "emp",
        )
    with pytest.raises(KeyError):
        schema_oicp.validate_oicp({}, "NoSuchSchema", "cpo")
    with pytest.raises(ValueError, match="cannot express 2 operators"):
        openapi_spelling(
            {"ProviderID": "DE-DCB", "OperatorID": ["DE*ABC", "DE*XYZ"]},
            "eRoamingGetChargeDetailRecords",
            "emp",
        )
