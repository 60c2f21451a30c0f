"""IdentificationType and its five options (oicp-2.3.md §4.4, 03_*_Data_Types IdentificationType).

Exactly one option is non-null. Hubject sends the unused options as explicit ``null`` (accepted:
``null`` is absence). RFIDIdentification is only for PushAuthenticationData, remote start and
reservation only use RemoteIdentification; those usage rules belong to the operations, not here.
All of these carry authentication data: errors never echo the input, ``repr`` hides PINs.
"""

from __future__ import annotations

import enum
import re

from pydantic import Field, model_validator

from bridge.oicp.models.common import OicpDateTime, SensitiveEgressChecked
from bridge.oicp.models.ids import UID, EvcoID

#: HashValueType, verbatim from the OpenAPI (``QRCodeIdentification.HashedPIN.Value``); it also
#: admits the ``.+/=$`` (and ``\``) of bcrypt hashes. The spec text's ``^[0-9A-Za-z]{10,100}$`` is stricter.
HASH_VALUE_PATTERN = r"^[0-9A-Za-z\\.+/=\\$]{10,100}$"
_HASH_VALUE = re.compile(HASH_VALUE_PATTERN, re.ASCII)


class RFIDType(enum.StrEnum):
    """RFIDType: the RFID card technology."""

    MIFARE_CLASSIC = "mifareCls"
    MIFARE_DESFIRE = "mifareDes"
    CALYPSO = "calypso"
    NFC = "nfc"
    MIFARE_FAMILY = "mifareFamily"


class HashFunction(enum.StrEnum):
    """HashFunctionType."""

    BCRYPT = "Bcrypt"


class LegacyHashFunction(enum.StrEnum):
    """LegacyHashDataType.Function (OICP 2.1 hashes)."""

    MD5 = "MD5"
    SHA_1 = "SHA-1"


class RFIDMifareFamilyIdentification(SensitiveEgressChecked):
    """RFIDmifarefamilyIdentificationType: ``UID`` M. *The* RFID option in Authorize* (§8 point 10)."""

    uid: UID = Field(alias="UID")


class RFIDIdentification(SensitiveEgressChecked):
    """RFIDIdentificationType: ``UID`` M, ``EvcoID`` O, ``RFID`` M, ``PrintedNumber`` O ≤150,
    ``ExpiryDate`` O. MUST NOT be used in authorization, only in PushAuthenticationData."""

    uid: UID = Field(alias="UID")
    evco_id: EvcoID | None = Field(default=None, alias="EvcoID")
    rfid: RFIDType = Field(alias="RFID")
    printed_number: str | None = Field(default=None, alias="PrintedNumber")
    expiry_date: OicpDateTime | None = Field(default=None, alias="ExpiryDate")

    def egress_problems(self) -> list[str]:
        if self.printed_number is not None and len(self.printed_number) > 150:
            return ["PrintedNumber is longer than 150 characters"]
        return []


class LegacyHashData(SensitiveEgressChecked):
    """LegacyHashDataType: ``Function`` M (MD5|SHA-1), ``Salt`` O ≤100, ``Value`` O ≤20."""

    function: LegacyHashFunction = Field(alias="Function")
    salt: str | None = Field(default=None, alias="Salt", repr=False)
    value: str | None = Field(default=None, alias="Value", repr=False)


class HashedPIN(SensitiveEgressChecked):
    """HashedPINType: ``Value`` M (HashValueType), ``Function`` M, ``LegacyHashData`` O.

    Only for PushAuthenticationData; in Authorize* it must be null (HBS would hash it again).
    """

    value: str = Field(alias="Value", repr=False)
    function: HashFunction = Field(alias="Function")
    legacy_hash_data: LegacyHashData | None = Field(default=None, alias="LegacyHashData")

    def egress_problems(self) -> list[str]:
        if _HASH_VALUE.fullmatch(self.value) is None:
            # The hash itself is not echoed: it is credential material.
            return [f"Value is not a HashValue ({HASH_VALUE_PATTERN})"]
        return []


class QRCodeIdentification(SensitiveEgressChecked):
    """QRCodeIdentificationType: ``EvcoID`` M, ``HashedPIN`` O, ``PIN`` O (clear text ≤20).

    In Authorize* the clear ``PIN`` is required and ``HashedPIN`` must be null (oicp-2.3.md §4.4).
    """

    evco_id: EvcoID = Field(alias="EvcoID")
    hashed_pin: HashedPIN | None = Field(default=None, alias="HashedPIN")
    pin: str | None = Field(default=None, alias="PIN", repr=False)

    def egress_problems(self) -> list[str]:
        if self.pin is not None and len(self.pin) > 20:
            return ["PIN is longer than 20 characters"]
        return []


class PlugAndChargeIdentification(SensitiveEgressChecked):
    """PlugAndChargeIdentificationType: ``EvcoID`` M (ISO 15118 contract)."""

    evco_id: EvcoID = Field(alias="EvcoID")


class RemoteIdentification(SensitiveEgressChecked):
    """RemoteIdentificationType: ``EvcoID`` M; the only option for remote start and reservation."""

    evco_id: EvcoID = Field(alias="EvcoID")


IdentificationMember = (
    RFIDMifareFamilyIdentification
    | RFIDIdentification
    | QRCodeIdentification
    | PlugAndChargeIdentification
    | RemoteIdentification
)

_MEMBERS = (
    "rfid_mifare_family_identification",
    "rfid_identification",
    "qr_code_identification",
    "plug_and_charge_identification",
    "remote_identification",
)


class Identification(SensitiveEgressChecked):
    """IdentificationType: exactly one of the five options MUST be provided.

    Unused options may arrive as explicit ``null`` (Hubject does that); two non-null options,
    or none, fail validation.
    """

    rfid_mifare_family_identification: RFIDMifareFamilyIdentification | None = Field(
        default=None, alias="RFIDMifareFamilyIdentification"
    )
    rfid_identification: RFIDIdentification | None = Field(default=None, alias="RFIDIdentification")
    qr_code_identification: QRCodeIdentification | None = Field(default=None, alias="QRCodeIdentification")
    plug_and_charge_identification: PlugAndChargeIdentification | None = Field(
        default=None, alias="PlugAndChargeIdentification"
    )
    remote_identification: RemoteIdentification | None = Field(default=None, alias="RemoteIdentification")

    @model_validator(mode="after")
    def _exactly_one(self) -> Identification:
        present = [name for name in _MEMBERS if getattr(self, name) is not None]
        if len(present) != 1:
            wires = [str(type(self).model_fields[name].alias) for name in present]
            found = ", ".join(wires) if wires else "none"
            raise ValueError(
                f"Identification must carry exactly one of RFIDMifareFamilyIdentification, "
                f"RFIDIdentification, QRCodeIdentification, PlugAndChargeIdentification, "
                f"RemoteIdentification; found {found}"
            )
        return self

    @property
    def member(self) -> IdentificationMember:
        """The one option that is set."""
        for name in _MEMBERS:
            value: IdentificationMember | None = getattr(self, name)
            if value is not None:
                return value
        raise AssertionError("unreachable: validated to carry exactly one option")

    @property
    def evco_id(self) -> str | None:
        """The EvcoID of the option, if it has one (RFIDMifareFamily has none)."""
        member = self.member
        return None if isinstance(member, RFIDMifareFamilyIdentification) else member.evco_id

    @property
    def uid(self) -> str | None:
        """The RFID UID of the option, if it is an RFID option."""
        member = self.member
        if isinstance(member, RFIDMifareFamilyIdentification | RFIDIdentification):
            return member.uid
        return None

    @classmethod
    def from_uid(cls, uid: str) -> Identification:
        """RFIDMifareFamilyIdentification, the RFID option for authorization."""
        return cls(rfid_mifare_family_identification=RFIDMifareFamilyIdentification(uid=uid))

    @classmethod
    def from_remote(cls, evco_id: str) -> Identification:
        """RemoteIdentification, for remote start/stop and reservations."""
        return cls(remote_identification=RemoteIdentification(evco_id=evco_id))

    @classmethod
    def from_plug_and_charge(cls, evco_id: str) -> Identification:
        """PlugAndChargeIdentification (ISO 15118)."""
        return cls(plug_and_charge_identification=PlugAndChargeIdentification(evco_id=evco_id))

    @classmethod
    def from_qr_code(cls, evco_id: str, pin: str | None = None) -> Identification:
        """QRCodeIdentification with the clear-text PIN (required in Authorize*)."""
        return cls(qr_code_identification=QRCodeIdentification(evco_id=evco_id, pin=pin))


__all__ = [
    "HASH_VALUE_PATTERN",
    "HashFunction",
    "HashedPIN",
    "Identification",
    "IdentificationMember",
    "LegacyHashData",
    "LegacyHashFunction",
    "PlugAndChargeIdentification",
    "QRCodeIdentification",
    "RFIDIdentification",
    "RFIDMifareFamilyIdentification",
    "RFIDType",
    "RemoteIdentification",
]
