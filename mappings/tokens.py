"""Tokens and authorization: OCPI Token/CdrToken/AuthorizationInfo ⇄ OICP Identification/AuthorizeStart.

Spec rules implemented here (docs/mapping.md §3.6–3.7, docs/oicp-2.3.md §3.2, §4.1, §4.4, §8.10,
§8.13, docs/ocpi.md §4.5):

* OICP ``Identification`` carries exactly one member; RFID only as ``RFIDMifareFamilyIdentification``
  in Authorize* (``RFIDIdentification`` is for PushAuthenticationData), remote start only as
  ``RemoteIdentification``. Which OCPI token type becomes which member is the YAML table
  ``tokens.identification_by_token_type``.
* UIDs are upper-case hex of 8, 14 or 20 characters; OCPI ``uid`` is any CiString(36), so it is
  normalised (upper-cased, separators stripped) and validated; what happens to the rest is
  ``tokens.invalid_uid``.
* EvcoIDs must match the ISO (``DE-8EO-CAet5e4XY-3``) or DIN (``DE*8EO*Aet5e4*3``) pattern; the
  separators are normalised per ``tokens.evco_id_format``.
* OCPI AllowedType ⇄ OICP AuthorizationStatus + StatusCode is the table ``tokens.allowed_to_oicp``
  (and ``tokens.allowed_from_oicp`` back).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models.v2_2_1 import (
    AllowedType,
    AuthorizationInfo,
    CdrToken,
    DisplayText,
    LocationReferences,
    Token,
    TokenType,
    WhitelistType,
)
from bridge.oicp.models.authorization import AuthorizationStart, AuthorizationStatus, AuthorizeStart
from bridge.oicp.models.common import StatusCode
from bridge.oicp.models.identification import (
    Identification,
    PlugAndChargeIdentification,
    QRCodeIdentification,
    RemoteIdentification,
    RFIDIdentification,
    RFIDMifareFamilyIdentification,
    RFIDType,
)
from bridge.oicp.models.ids import is_valid_evco_id, is_valid_uid, provider_id_key
from mappings.result import RuleDoc, Translation

if TYPE_CHECKING:
    from mappings.rules import MappingRules

M = TypeVar("M", bound=BaseModel)
SOURCES = ("oicp", "ocpi-2.2.1", "ocpi-2.1.1")

TokenTypeName = Literal["AD_HOC_USER", "APP_USER", "OTHER", "RFID"]
AllowedName = Literal["ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED"]
AuthMethodName = Literal["AUTH_REQUEST", "COMMAND", "WHITELIST"]
WhitelistName = Literal["ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"]
IdentificationMember = Literal[
    "RFIDMifareFamilyIdentification",
    "RFIDIdentification",
    "QRCodeIdentification",
    "PlugAndChargeIdentification",
    "RemoteIdentification",
]
IdentificationChoice = Literal[
    "RFIDMifareFamilyIdentification",
    "RFIDIdentification",
    "QRCodeIdentification",
    "PlugAndChargeIdentification",
    "RemoteIdentification",
    "refuse",
]
RfidTypeName = Literal["mifareCls", "mifareDes", "calypso", "nfc", "mifareFamily"]


def merged_table(defaults: Mapping[str, Any]) -> Callable[[Any], Any]:
    """A ``mode="before"`` validator body: a YAML table overrides only the keys it names.

    Operators write ``tokens.allowed_to_oicp: {BLOCKED: {...}}`` to change one row; the other rows
    keep their documented defaults instead of disappearing.
    """

    def merge(value: Any) -> Any:
        if value is None:
            return dict(defaults)
        if isinstance(value, Mapping):
            return {**defaults, **value}
        return value

    return merge


class AuthorizationOutcome(BaseModel):
    """One row of the AllowedType → OICP table: AuthorizationStatus plus StatusCode.Code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["Authorized", "NotAuthorized"] = Field(
        description="OICP AuthorizationStatus sent in the eRoamingAuthorizationStart response"
    )
    code: str = Field(
        pattern=r"^[0-9]{3}$", description='OICP StatusCode.Code (three digits, a string: "000")'
    )


_IDENTIFICATION_BY_TOKEN_TYPE: dict[str, str] = {
    "RFID": "RFIDMifareFamilyIdentification",
    "APP_USER": "RemoteIdentification",
    "AD_HOC_USER": "QRCodeIdentification",
    "OTHER": "RemoteIdentification",
}
_TOKEN_TYPE_BY_IDENTIFICATION: dict[str, str] = {
    "RFIDMifareFamilyIdentification": "RFID",
    "RFIDIdentification": "RFID",
    "QRCodeIdentification": "AD_HOC_USER",
    "PlugAndChargeIdentification": "OTHER",
    "RemoteIdentification": "APP_USER",
}
_AUTH_METHOD_BY_IDENTIFICATION: dict[str, str] = {
    "RFIDMifareFamilyIdentification": "AUTH_REQUEST",
    "RFIDIdentification": "AUTH_REQUEST",
    "QRCodeIdentification": "COMMAND",
    "PlugAndChargeIdentification": "AUTH_REQUEST",
    "RemoteIdentification": "COMMAND",
}
_ALLOWED_TO_OICP: dict[str, dict[str, str]] = {
    "ALLOWED": {"status": "Authorized", "code": "000"},
    "BLOCKED": {"status": "NotAuthorized", "code": "200"},
    "EXPIRED": {"status": "NotAuthorized", "code": "210"},
    "NO_CREDIT": {"status": "NotAuthorized", "code": "210"},
    "NOT_ALLOWED": {"status": "NotAuthorized", "code": "102"},
}
_ALLOWED_FROM_OICP: dict[str, str] = {
    "200": "BLOCKED",
}


class TokenRules(BaseModel):
    """YAML section ``tokens``: how OCPI tokens and OICP identifications translate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    identification_by_token_type: dict[TokenTypeName, IdentificationChoice] = Field(
        default_factory=lambda: dict(_IDENTIFICATION_BY_TOKEN_TYPE),  # type: ignore[arg-type]
        description=(
            "OCPI Token.type → OICP Identification member. RFID uses the uid as UID; the EvcoID "
            'members (Remote, QRCode, PlugAndCharge) use contract_id. "refuse" makes tokens of '
            "that type untranslatable. Keys you give override the defaults one by one."
        ),
    )
    token_type_by_identification: dict[IdentificationMember, TokenTypeName] = Field(
        default_factory=lambda: dict(_TOKEN_TYPE_BY_IDENTIFICATION),  # type: ignore[arg-type]
        description="OICP Identification member → OCPI Token.type / CdrToken.type.",
    )
    auth_method_by_identification: dict[IdentificationMember, AuthMethodName] = Field(
        default_factory=lambda: dict(_AUTH_METHOD_BY_IDENTIFICATION),  # type: ignore[arg-type]
        description=(
            "OICP Identification member → OCPI Session/CDR auth_method (docs/mapping.md §3.6: "
            "remote or QR → COMMAND, RFID → AUTH_REQUEST)."
        ),
    )
    uid_separators: str = Field(
        default=":- ",
        description="Characters stripped from an OCPI RFID uid before it is checked as an OICP UID.",
    )
    invalid_uid: Literal["refuse", "contract_id"] = Field(
        default="refuse",
        description=(
            'An RFID uid that is not 8/14/20 hex characters after normalisation: "refuse" raises a '
            'MappingError naming uid; "contract_id" sends RemoteIdentification{EvcoID=contract_id} '
            "instead (noted as a change)."
        ),
    )
    evco_id_format: Literal["keep", "hyphen", "compact"] = Field(
        default="keep",
        description=(
            'How an EvcoID is written towards Hubject: "keep" sends the received text when it '
            'already matches the OICP pattern (else the hyphenated form); "hyphen" always writes '
            'CC-PPP-CXXXXXXXX-K (ISO) / CC-PPP-XXXXXX-K (DIN); "compact" strips the separators. '
            "All normalised forms are upper case."
        ),
    )
    rfid_type: RfidTypeName = Field(
        default="mifareFamily",
        description="RFIDIdentification.RFID when the token-type table selects RFIDIdentification.",
    )
    allowed_to_oicp: dict[AllowedName, AuthorizationOutcome] = Field(
        default_factory=lambda: {k: AuthorizationOutcome(**v) for k, v in _ALLOWED_TO_OICP.items()},  # type: ignore[arg-type]
        description=(
            "OCPI AuthorizationInfo.allowed → OICP AuthorizationStatus + StatusCode "
            "(ALLOWED→Authorized 000, BLOCKED→200 EVCOIDLocked, EXPIRED/NO_CREDIT→210 "
            "NoValidContract, NOT_ALLOWED→102)."
        ),
    )
    unknown_token: AuthorizationOutcome = Field(
        default=AuthorizationOutcome(status="NotAuthorized", code="210"),
        description="Answer to Hubject when the eMSP does not know the token (OCPI 404 / 2004).",
    )
    allowed_from_oicp: dict[str, AllowedName] = Field(
        default_factory=lambda: dict(_ALLOWED_FROM_OICP),  # type: ignore[arg-type]
        description=(
            "OICP StatusCode.Code of a NotAuthorized answer → OCPI AllowedType; codes not listed "
            "become not_authorized_default. Authorized is always ALLOWED."
        ),
    )
    not_authorized_default: AllowedName = Field(
        default="NOT_ALLOWED",
        description="OCPI AllowedType for a NotAuthorized answer whose code is not in allowed_from_oicp.",
    )
    stop_identifications: bool = Field(
        default=True,
        description=(
            "Send AuthorizationStopIdentifications = [the identification that started] in a positive "
            "AuthorizeStart answer, so the session can only be stopped with the same medium."
        ),
    )
    issuer: str = Field(
        default="Hubject",
        max_length=64,
        description="OCPI Token.issuer for tokens built from an OICP identification (no OICP source).",
    )
    whitelist: WhitelistName = Field(
        default="NEVER",
        description=(
            "OCPI Token.whitelist for tokens built from an OICP identification: NEVER forces real-time "
            "authorization so every Hubject session gets a SessionID (docs/oicp-2.3.md §8.1)."
        ),
    )
    evco_uid: Literal["evco_id", "compact"] = Field(
        default="evco_id",
        description=(
            "OCPI uid of a token built from an EvcoID: the EvcoID as received, or without separators."
        ),
    )

    _merge_identification = field_validator("identification_by_token_type", mode="before")(
        merged_table(_IDENTIFICATION_BY_TOKEN_TYPE)
    )
    _merge_token_type = field_validator("token_type_by_identification", mode="before")(
        merged_table(_TOKEN_TYPE_BY_IDENTIFICATION)
    )
    _merge_auth_method = field_validator("auth_method_by_identification", mode="before")(
        merged_table(_AUTH_METHOD_BY_IDENTIFICATION)
    )
    _merge_allowed = field_validator("allowed_to_oicp", mode="before")(merged_table(_ALLOWED_TO_OICP))
    _merge_allowed_back = field_validator("allowed_from_oicp", mode="before")(
        merged_table(_ALLOWED_FROM_OICP)
    )


def rule_rows(*rows: str) -> tuple[RuleDoc, ...]:
    """RULE_TABLE rows written ``direction | source | target | rule | yaml key`` (key may be empty)."""
    docs = []
    for row in rows:
        direction, source, target, rule, key = (cell.strip() for cell in row.split(" | "))
        docs.append(RuleDoc(direction, source, target, rule, key or None))
    return tuple(docs)


# --------------------------------------------------------------------------------------------
# Identifier normalisation (oicp-2.3.md §4.1)

_EVCO_SEPARATORS = re.compile(r"[\s*\-]")


def normalize_uid(uid: str, separators: str = ":- ") -> str:
    """OCPI RFID ``uid`` → OICP UID spelling: ``separators`` removed, upper case (not yet validated)."""
    return "".join(ch for ch in uid if ch not in separators).upper()


@dataclass(frozen=True, slots=True)
class EvcoParts:
    """An EvcoID split into its parts: country, provider, instance and check character."""

    country: str
    provider: str
    instance: str
    check: str
    iso: bool  # ISO 15118 (instance "C" + 8) rather than DIN SPEC 91286 (6)

    def hyphenated(self) -> str:
        return f"{self.country}-{self.provider}-{self.instance}-{self.check}"

    def compact(self) -> str:
        return f"{self.country}{self.provider}{self.instance}{self.check}"

    @property
    def provider_id(self) -> str:
        """The OICP ProviderID of the contract, ``DE*8EO`` style (emob routes by this prefix)."""
        return f"{self.country}*{self.provider}"


def parse_evco_id(value: str) -> EvcoParts | None:
    """Split an EvcoID written with or without separators; None when it is not one."""
    compact = _EVCO_SEPARATORS.sub("", value).upper()
    if len(compact) == 15 and compact[5] == "C" and compact.isalnum():
        parts = EvcoParts(compact[:2], compact[2:5], compact[5:14], compact[14], iso=True)
    elif len(compact) == 12 and compact.isalnum() and (compact[11].isdigit() or compact[11] == "X"):
        parts = EvcoParts(compact[:2], compact[2:5], compact[5:11], compact[11], iso=False)
    else:
        return None
    if not parts.country.isalpha():
        return None
    return parts


def format_evco_id(value: str, style: Literal["keep", "hyphen", "compact"], *, path: str) -> tuple[str, bool]:
    """The EvcoID to send to Hubject and whether its text changed (``tokens.evco_id_format``).

    Raises MappingError(path) when ``value`` is no ISO/DIN EvcoID (e.g. an ISO id without its
    check character, which the OICP regex requires, hubject/oicp#101).
    """
    if style == "keep" and is_valid_evco_id(value):
        return value, False
    parts = parse_evco_id(value)
    if parts is None:
        raise MappingError(path, "not an EvcoID (ISO CC-PPP-CXXXXXXXX-K or DIN CC*PPP*XXXXXX*K)")
    formatted = parts.compact() if style == "compact" else parts.hyphenated()
    return formatted, formatted != value


# --------------------------------------------------------------------------------------------
# OCPI Token / CdrToken → OICP Identification

_TOKEN_ONLY_FIELDS = (
    "issuer",
    "group_id",
    "valid",
    "whitelist",
    "language",
    "default_profile_type",
    "energy_contract",
    "last_updated",
)


def member_name(identification: Identification) -> str:
    """The wire name of the one member an Identification carries (``RemoteIdentification``, ...)."""
    member = identification.member
    return type(member).__name__


def _evco(value: str, rules: TokenRules, path: str, result: Translation[Any]) -> str:
    evco_id, changed = format_evco_id(value, rules.evco_id_format, path=path)
    if changed:
        result.changed(path, f"EvcoID written as {evco_id!r} (tokens.evco_id_format={rules.evco_id_format})")
    return evco_id


def token_to_identification(token: Token | CdrToken, rules: MappingRules) -> Translation[Identification]:
    """OCPI Token/CdrToken → OICP Identification (docs/mapping.md §3.6, oicp-2.3.md §4.4, §8.10).

    The member comes from ``tokens.identification_by_token_type``. RFID members carry the uid,
    normalised (separators stripped, upper case) and checked against the UID pattern (8/14/20
    hex characters); ``tokens.invalid_uid`` decides what happens to other uids. EvcoID members
    carry ``contract_id`` normalised per ``tokens.evco_id_format``. Raises MappingError naming
    ``type``, ``uid`` or ``contract_id`` when the token cannot be expressed.
    """
    table = rules.tokens
    notes: Translation[None] = Translation(None)
    identification: Identification | None = None
    choice = table.identification_by_token_type.get(token.type.value, "refuse")
    if choice == "refuse":
        raise MappingError(
            "type",
            f"tokens of type {token.type.value} are not translated (tokens.identification_by_token_type)",
        )
    if choice in ("RFIDMifareFamilyIdentification", "RFIDIdentification"):
        uid = normalize_uid(token.uid, table.uid_separators)
        if not is_valid_uid(uid):
            if table.invalid_uid == "refuse":
                raise MappingError("uid", "not an OICP UID: 8, 14 or 20 hexadecimal characters are required")
            notes.changed(
                "uid", "not an OICP UID; sent as RemoteIdentification with contract_id (tokens.invalid_uid)"
            )
            choice = "RemoteIdentification"
        else:
            if uid != token.uid:
                notes.changed("uid", f"normalised to {uid!r} (upper-case hex, separators removed)")
            if choice == "RFIDMifareFamilyIdentification":
                identification = Identification(
                    rfid_mifare_family_identification=RFIDMifareFamilyIdentification(uid=uid)
                )
                notes.lost("contract_id", "RFIDMifareFamilyIdentification carries only the UID")
            else:
                evco_id: str | None = None
                try:
                    evco_id = _evco(token.contract_id, table, "contract_id", notes)
                except MappingError:
                    notes.lost("contract_id", "not an EvcoID; RFIDIdentification sent without EvcoID")
                visual = token.visual_number if isinstance(token, Token) else None
                identification = Identification(
                    rfid_identification=RFIDIdentification(
                        uid=uid, evco_id=evco_id, rfid=RFIDType(table.rfid_type), printed_number=visual
                    )
                )
    if identification is None:
        evco_id = _evco(token.contract_id, table, "contract_id", notes)
        if choice == "RemoteIdentification":
            identification = Identification(remote_identification=RemoteIdentification(evco_id=evco_id))
        elif choice == "QRCodeIdentification":
            identification = Identification(qr_code_identification=QRCodeIdentification(evco_id=evco_id))
            notes.defaulted("QRCodeIdentification.PIN", "OCPI has no PIN; Authorize* requests need one")
        else:
            identification = Identification(
                plug_and_charge_identification=PlugAndChargeIdentification(evco_id=evco_id)
            )
        if not any(loss.path == "uid" for loss in notes.losses):
            notes.lost("uid", f"{choice} carries only the EvcoID")
    result = Translation(identification, notes.losses)
    back = table.token_type_by_identification.get(member_name(result.value))  # type: ignore[call-overload]
    if back != token.type.value:
        result.changed(
            "type", f"{token.type.value} sent as {member_name(result.value)}, which comes back as {back}"
        )
    result.lost(
        "country_code", "OICP identifications carry no token owner (the EvcoID prefix names the provider)"
    )
    result.lost(
        "party_id", "OICP identifications carry no token owner (the EvcoID prefix names the provider)"
    )
    if isinstance(token, Token):
        for name in _TOKEN_ONLY_FIELDS:
            if getattr(token, name) is not None:
                result.lost(name, "no OICP Identification field")
        if token.visual_number is not None and result.value.rfid_identification is None:
            result.lost("visual_number", "only RFIDIdentification carries PrintedNumber")
    return result


# --------------------------------------------------------------------------------------------
# OICP Identification → OCPI CdrToken / Token


def _owner(identification: Identification, owner: tuple[str, str] | None) -> tuple[str, str] | None:
    if owner is not None:
        return owner
    evco_id = identification.evco_id
    parts = parse_evco_id(evco_id) if evco_id else None
    return (parts.country, parts.provider) if parts else None


def identification_to_cdr_token(
    identification: Identification, rules: MappingRules, *, owner: tuple[str, str] | None = None
) -> Translation[CdrToken]:
    """OICP Identification → OCPI CdrToken (docs/mapping.md §3.6).

    RFID members give ``uid`` = UID and type RFID; EvcoID members give ``contract_id`` = EvcoID
    and ``uid`` = EvcoID (``tokens.evco_uid``), type per ``tokens.token_type_by_identification``.
    ``owner`` is the eMSP's (country_code, party_id); without it the EvcoID's country and provider
    are used. An RFID identification without owner raises MappingError naming Identification.
    """
    table = rules.tokens
    name = member_name(identification)
    found = _owner(identification, owner)
    if found is None:
        raise MappingError(
            "Identification", f"{name} names no provider: the token owner (country_code, party_id) is needed"
        )
    token_type = TokenType(table.token_type_by_identification[name])  # type: ignore[index]
    evco_id = identification.evco_id
    uid = identification.uid
    notes: list[tuple[str, str]] = []
    if uid is None:
        assert evco_id is not None
        uid = evco_id if table.evco_uid == "evco_id" else _EVCO_SEPARATORS.sub("", evco_id)
        notes.append(("cdr_token.uid", f"no OICP UID; the EvcoID is used (tokens.evco_uid={table.evco_uid})"))
    contract_id = evco_id
    if contract_id is None:
        contract_id = uid
        notes.append(
            ("cdr_token.contract_id", "RFIDMifareFamilyIdentification carries no EvcoID; the UID is used")
        )
    if owner is None:
        notes.append(("cdr_token.country_code", "taken from the EvcoID's country"))
        notes.append(("cdr_token.party_id", "taken from the EvcoID's provider"))
    result = Translation(
        CdrToken(country_code=found[0], party_id=found[1], uid=uid, type=token_type, contract_id=contract_id)
    )
    for path, detail in notes:
        result.defaulted(path, detail)
    if isinstance(identification.member, QRCodeIdentification) and (
        identification.member.pin is not None or identification.member.hashed_pin is not None
    ):
        result.lost("QRCodeIdentification.PIN", "OCPI tokens carry no PIN")
    if isinstance(identification.member, RFIDIdentification):
        if identification.member.expiry_date is not None:
            result.lost("RFIDIdentification.ExpiryDate", "no CdrToken field")
        if identification.member.printed_number is not None:
            result.lost("RFIDIdentification.PrintedNumber", "no CdrToken field (Token.visual_number)")
    return result


def identification_to_token(
    identification: Identification,
    rules: MappingRules,
    *,
    now: datetime,
    owner: tuple[str, str] | None = None,
) -> Translation[Token]:
    """OICP Identification → a full OCPI Token (for AuthorizationInfo and commands).

    As :func:`identification_to_cdr_token`; ``issuer`` and ``whitelist`` come from
    ``tokens.issuer`` / ``tokens.whitelist``, ``valid`` is true, ``last_updated`` is ``now``,
    ``visual_number`` is RFIDIdentification.PrintedNumber.
    """
    cdr = identification_to_cdr_token(identification, rules, owner=owner)
    member = identification.member
    visual = member.printed_number if isinstance(member, RFIDIdentification) else None
    token = Token(
        country_code=cdr.value.country_code,
        party_id=cdr.value.party_id,
        uid=cdr.value.uid,
        type=cdr.value.type,
        contract_id=cdr.value.contract_id,
        visual_number=visual,
        issuer=rules.tokens.issuer,
        valid=True,
        whitelist=WhitelistType(rules.tokens.whitelist),
        last_updated=now,
    )
    result = Translation(token, [loss for loss in cdr.losses if "PrintedNumber" not in loss.path])
    for path in ("issuer", "whitelist", "valid", "last_updated"):
        result.defaulted(f"token.{path}", "no OICP source (tokens.issuer / tokens.whitelist / now)")
    return result


# --------------------------------------------------------------------------------------------
# Real-time authorization


def authorize_start_from_token(
    token: Token | CdrToken,
    rules: MappingRules,
    *,
    operator_id: str,
    evse_id: str | None = None,
    session_id: str | None = None,
    cpo_partner_session_id: str | None = None,
    partner_product_id: str | None = None,
) -> Translation[AuthorizeStart]:
    """An OCPI CPO's real-time authorization → OICP eRoamingAuthorizeStart (oicp-2.3.md §2.1).

    The Identification is :func:`token_to_identification`; OperatorID and EvseID come from the
    Location the CPO named (passed in), ``CPOPartnerSessionID`` from the caller's correlation.
    """
    identification = token_to_identification(token, rules)
    request = AuthorizeStart(
        session_id=session_id,
        cpo_partner_session_id=cpo_partner_session_id,
        operator_id=operator_id,
        evse_id=evse_id,
        identification=identification.value,
        partner_product_id=partner_product_id,
    )
    return Translation(request, list(identification.losses))


def authorization_to_oicp(
    info: AuthorizationInfo | None,
    rules: MappingRules,
    *,
    identification: Identification,
    provider_id: str,
    session_id: str | None = None,
    cpo_partner_session_id: str | None = None,
    emp_partner_session_id: str | None = None,
) -> Translation[AuthorizationStart]:
    """OCPI AuthorizationInfo → OICP eRoamingAuthorizationStart (docs/mapping.md §3.7).

    ``allowed`` → AuthorizationStatus + StatusCode by ``tokens.allowed_to_oicp``; ``None`` (the
    eMSP answered 404/2004: unknown token) → ``tokens.unknown_token``. A positive answer carries
    ``ProviderID`` (HBS caches UID → ProviderID, oicp-2.3.md §8.13) and, with
    ``tokens.stop_identifications``, ``AuthorizationStopIdentifications`` = the identification
    that started (the session must be stopped with the same medium). ``info.info`` becomes
    StatusCode.AdditionalInfo.
    """
    table = rules.tokens
    notes: list[tuple[str, str]] = []
    if info is None:
        outcome = table.unknown_token
    else:
        outcome = table.allowed_to_oicp[info.allowed.value]
        if info.location is not None:
            notes.append(("location", "OICP answers carry no location"))
        if info.authorization_reference is not None and info.authorization_reference != session_id:
            notes.append(("authorization_reference", "OICP uses Hubject's SessionID to correlate"))
    authorized = outcome.status == "Authorized"
    additional = info.info.text[:1000] if info is not None and info.info is not None else None
    answer = AuthorizationStart(
        session_id=session_id,
        cpo_partner_session_id=cpo_partner_session_id,
        emp_partner_session_id=emp_partner_session_id,
        provider_id=provider_id if authorized else None,
        authorization_status=AuthorizationStatus(outcome.status),
        status_code=StatusCode.of(outcome.code, additional),
        authorization_stop_identifications=[identification]
        if authorized and table.stop_identifications
        else None,
    )
    result = Translation(answer)
    for path, detail in notes:
        result.lost(path, detail)
    if info is not None and info.info is not None:
        result.changed("info", "sent as StatusCode.AdditionalInfo; its language is lost")
    return result


def authorization_from_oicp(
    answer: AuthorizationStart,
    rules: MappingRules,
    *,
    token: Token,
    location: LocationReferences | None = None,
) -> Translation[AuthorizationInfo]:
    """OICP eRoamingAuthorizationStart → OCPI AuthorizationInfo (docs/mapping.md §3.7).

    Authorized → ALLOWED; NotAuthorized → ``tokens.allowed_from_oicp[StatusCode]`` or
    ``tokens.not_authorized_default``. ``authorization_reference`` = SessionID (oicp-2.3.md §7),
    ``token`` is the OCPI token the CPO asked about (passed in), the StatusCode text of a refusal
    becomes ``info``.
    """
    table = rules.tokens
    code = answer.status_code.code
    if answer.authorization_status is AuthorizationStatus.AUTHORIZED:
        allowed = AllowedType.ALLOWED
    else:
        allowed = AllowedType(table.allowed_from_oicp.get(code, table.not_authorized_default))
    text = answer.status_code.additional_info or answer.status_code.description
    info = None
    if allowed is not AllowedType.ALLOWED and text:
        info = DisplayText(language="en", text=text[:512])
    result = Translation(
        AuthorizationInfo(
            allowed=allowed,
            token=token,
            location=location,
            authorization_reference=answer.session_id,
            info=info,
        )
    )
    if answer.provider_id is not None:
        result.lost("ProviderID", "no AuthorizationInfo field (the token owner is in token)")
    if answer.authorization_stop_identifications:
        result.lost("AuthorizationStopIdentifications", "OCPI has no stop restriction")
    if answer.cpo_partner_session_id is not None or answer.emp_partner_session_id is not None:
        result.lost("CPOPartnerSessionID/EMPPartnerSessionID", "no AuthorizationInfo field")
    return result


@dataclass(frozen=True, slots=True)
class TokenQuery:
    """What an OCPI real-time authorization needs: ``POST {tokens}/{uid}/authorize?type=`` + body."""

    uid: str
    type: TokenType
    location: LocationReferences | None


def authorize_start_to_ocpi(
    request: AuthorizeStart,
    rules: MappingRules,
    *,
    location_id: str | None = None,
    evse_uid: str | None = None,
) -> Translation[TokenQuery]:
    """OICP AuthorizeStart (Hubject → EMP) → the OCPI token authorization to ask the eMSP.

    uid and type as :func:`identification_to_cdr_token`; the EvseID is resolved to the OCPI
    location/EVSE by the caller (``location_id``/``evse_uid``). A QR PIN cannot be forwarded.
    """
    table = rules.tokens
    name = member_name(request.identification)
    uid = request.identification.uid
    if uid is None:
        evco_id = request.identification.evco_id or ""
        uid = evco_id if table.evco_uid == "evco_id" else _EVCO_SEPARATORS.sub("", evco_id)
    token_type = TokenType(table.token_type_by_identification[name])  # type: ignore[index]
    location = None
    if location_id is not None:
        location = LocationReferences(location_id=location_id, evse_uids=[evse_uid] if evse_uid else None)
    result = Translation(TokenQuery(uid=uid, type=token_type, location=location))
    member = request.identification.member
    if isinstance(member, QRCodeIdentification) and member.pin is not None:
        result.lost("Identification.QRCodeIdentification.PIN", "OCPI authorization carries no PIN")
    if request.partner_product_id is not None:
        result.lost("PartnerProductID", "no OCPI authorization field")
    return result


# --------------------------------------------------------------------------------------------
# Preview (the ``map`` CLI)


def provider_party(provider_id: str) -> tuple[str, str] | None:
    """OCPI (country_code, party_id) of a ProviderID (``DE-DCB``, ``DE*DCB``, ``DEDCB`` → ``DE``, ``DCB``)."""
    compact = provider_id_key(provider_id)
    return (compact[:2], compact[2:5]) if len(compact) == 5 and compact[:2].isalpha() else None


def parse_model(model: type[M], obj: Mapping[str, Any]) -> M:
    """Validate a bare object for a preview; a validation error becomes MappingError naming the field."""
    try:
        return model.model_validate(obj)
    except ValidationError as error:
        first = error.errors()[0]
        path = ".".join(str(part) for part in first["loc"]) or model.__name__
        raise MappingError(path, first["msg"]) from error


def unsupported(source: str, target: str) -> MappingError:
    """The MappingError for a direction a family's preview does not translate."""
    return MappingError("target", f"{source} → {target} is not supported for this object")


def evco_owner(value: str, path: str) -> tuple[str, str]:
    """(country_code, party_id) of an EvcoID, for previews of objects without an owner."""
    parts = parse_evco_id(value)
    if parts is None:
        raise MappingError(path, "the preview needs the owner: this is no EvcoID to take it from")
    return parts.country, parts.provider


def _token_211_up(obj: Mapping[str, Any], result: Translation[Any]) -> Token:
    from mappings.ocpi_versions import token_up

    token211 = parse_model(v211.Token, obj)
    owner = evco_owner(token211.auth_id, "auth_id")
    up = token_up(token211, country_code=owner[0], party_id=owner[1])
    result.losses.extend(up.losses)
    return up.value


def preview(
    obj: Mapping[str, Any], source: str, target: str, rules: MappingRules, *, now: datetime
) -> Translation[Any]:
    """Translate a bare token-family object for the ``map`` CLI.

    OCPI → OICP: Token/CdrToken → Identification; AuthorizationInfo → eRoamingAuthorizationStart
    (ProviderID = the token's party, noted). OICP → OCPI: eRoamingAuthorizationStart →
    AuthorizationInfo (token from its first AuthorizationStopIdentification); AuthorizeStart or a
    bare Identification → Token. 2.1.1 goes through mappings.ocpi_versions.
    """
    result: Translation[Any] = Translation(None)
    if source.startswith("ocpi") and target == "oicp":
        if "allowed" in obj:
            if source == "ocpi-2.1.1":
                raise MappingError("token", "a 2.1.1 AuthorizationInfo carries no token to identify")
            info = parse_model(AuthorizationInfo, obj)
            identification = token_to_identification(info.token, rules)
            provider = f"{info.token.country_code}*{info.token.party_id}"
            answer = authorization_to_oicp(
                info, rules, identification=identification.value, provider_id=provider
            )
            result.defaulted("ProviderID", "preview: the token's party")
            result.value = answer.value
            result.losses.extend(answer.losses)
            return result
        token: Token | CdrToken
        if source == "ocpi-2.1.1":
            token = _token_211_up(obj, result)
        else:
            token = parse_model(Token, obj) if "issuer" in obj else parse_model(CdrToken, obj)
        translated = token_to_identification(token, rules)
        result.value = translated.value
        result.losses.extend(translated.losses)
        return result
    if source == "oicp" and target in ("ocpi-2.2.1", "ocpi-2.1.1"):
        if "AuthorizationStatus" in obj:
            answer_oicp = parse_model(AuthorizationStart, obj)
            stops = answer_oicp.authorization_stop_identifications or []
            if not stops:
                raise MappingError(
                    "AuthorizationStopIdentifications", "the preview builds the token from it: none given"
                )
            owner = provider_party(answer_oicp.provider_id) if answer_oicp.provider_id else None
            token_t = identification_to_token(stops[0], rules, now=now, owner=owner)
            info_t = authorization_from_oicp(answer_oicp, rules, token=token_t.value)
            result.losses.extend([*token_t.losses, *info_t.losses])
            if target == "ocpi-2.1.1":
                from mappings.ocpi_versions import authorization_info_down

                down = authorization_info_down(info_t.value)
                result.losses.extend(down.losses)
                result.value = down.value
            else:
                result.value = info_t.value
            return result
        if "Identification" in obj:
            identification_obj = parse_model(AuthorizeStart, obj).identification
        else:
            identification_obj = parse_model(Identification, obj)
        token_t = identification_to_token(identification_obj, rules, now=now)
        result.losses.extend(token_t.losses)
        if target == "ocpi-2.1.1":
            from mappings.ocpi_versions import token_down

            down_t = token_down(token_t.value)
            result.losses.extend(down_t.losses)
            result.value = down_t.value
        else:
            result.value = token_t.value
        return result
    raise unsupported(source, target)


RULE_TABLE: tuple[RuleDoc, ...] = rule_rows(
    "ocpi→oicp | Token.type | Identification member | RFID → RFIDMifareFamilyIdentification, APP_USER and"
    ' OTHER → RemoteIdentification, AD_HOC_USER → QRCodeIdentification; "refuse" makes a type '
    "untranslatable | tokens.identification_by_token_type",
    "ocpi→oicp | Token.uid (RFID) | RFIDMifareFamilyIdentification.UID | separators stripped, "
    "upper-cased, must be 8/14/20 hex characters | tokens.uid_separators",
    "ocpi→oicp | Token.uid that is no UID | MappingError(uid) or RemoteIdentification | refused, or sent "
    "as RemoteIdentification{EvcoID = contract_id} | tokens.invalid_uid",
    "ocpi→oicp | Token.contract_id | …Identification.EvcoID | must be an ISO (check character required) "
    "or DIN EvcoID, else MappingError(contract_id); written as received, hyphenated or compact | "
    "tokens.evco_id_format",
    "ocpi→oicp | Token.visual_number | RFIDIdentification.PrintedNumber | only when the table selects "
    "RFIDIdentification (PushAuthenticationData), with RFID type from the rule | tokens.rfid_type",
    "ocpi→oicp | Token country_code, party_id, issuer, group_id, valid, whitelist, language, "
    "default_profile_type, energy_contract, last_updated | – | lost (noted): an Identification carries "
    "only the medium | ",
    "ocpi→oicp | AuthorizationInfo.allowed | AuthorizationStatus + StatusCode | ALLOWED→Authorized 000, "
    "BLOCKED→NotAuthorized 200, EXPIRED/NO_CREDIT→210, NOT_ALLOWED→102 | tokens.allowed_to_oicp",
    "ocpi→oicp | unknown token (OCPI 404 / 2004) | AuthorizationStatus + StatusCode | NotAuthorized 210 |"
    " tokens.unknown_token",
    "ocpi→oicp | the identification that asked | AuthorizationStopIdentifications | sent with a positive "
    "answer, so only the same medium stops the session | tokens.stop_identifications",
    "ocpi→oicp | AuthorizationInfo.info | StatusCode.AdditionalInfo | text kept, language lost | ",
    "ocpi→oicp | Token (real-time authorization by a CPO) | eRoamingAuthorizeStart | Identification as "
    "above; OperatorID/EvseID from the Location; CPOPartnerSessionID from the correlation | ",
    "oicp→ocpi | Identification member | CdrToken.type / Token.type | RFID members → RFID, "
    "RemoteIdentification → APP_USER, QRCodeIdentification → AD_HOC_USER, PlugAndChargeIdentification → "
    "OTHER | tokens.token_type_by_identification",
    "oicp→ocpi | UID / EvcoID | uid, contract_id | RFID: uid = UID (contract_id = EvcoID, else the UID, "
    "noted); EvcoID members: contract_id = EvcoID, uid = the EvcoID as received or compact | "
    "tokens.evco_uid",
    "oicp→ocpi | EvcoID prefix / ProviderID | country_code, party_id | the caller's owner, else the "
    "EvcoID's country and provider; an RFID UID without owner is refused | ",
    "oicp→ocpi | Identification member | auth_method | RFID and PnC → AUTH_REQUEST, Remote and QR → "
    "COMMAND | tokens.auth_method_by_identification",
    "oicp→ocpi | – | Token.issuer, whitelist, valid, last_updated | issuer and whitelist from the rules "
    "(NEVER: Hubject tokens need real-time authorization), valid true, last_updated now | "
    "tokens.whitelist",
    "oicp→ocpi | – | Token.issuer | fixed text | tokens.issuer",
    "oicp→ocpi | AuthorizationStatus + StatusCode | AuthorizationInfo.allowed | Authorized → ALLOWED; "
    "NotAuthorized → the code's row (200 → BLOCKED), else the default | tokens.allowed_from_oicp",
    "oicp→ocpi | NotAuthorized with another code | AuthorizationInfo.allowed | NOT_ALLOWED | "
    "tokens.not_authorized_default",
    "oicp→ocpi | SessionID | AuthorizationInfo.authorization_reference | Hubject's SessionID correlates "
    "every later message | ",
    "oicp→ocpi | ProviderID, AuthorizationStopIdentifications, QR PIN, ExpiryDate | – | lost (noted) | ",
)
