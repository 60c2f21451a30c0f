"""The credentials handshake (ocpi.md §1.3, §1.4), both directions, as functions over store + client.

Outbound (the gateway is the Sender; the partner gave us its TOKEN_A, config ``versions_url`` +
``token``): :func:`register` (POST), :func:`update_credentials` (PUT) and :func:`unregister`
(DELETE). Inbound (the partner is the Sender, it holds the ``token_a`` we gave it): the
credentials routes call :func:`accept_credentials` and :func:`drop_registration`.

Decisions on points the spec leaves open (documented in the report and here):

* **Which version a connection uses.** As the Sender we choose the highest mutual version (or
  the partner's configured ``version``). As the Receiver the version is the one of the
  credentials URL that received the POST/PUT (ocpi.md §1.1); it must be listed by the partner,
  else 3002. A PUT on the 2.2.1 URL of a 2.1.1 connection is the upgrade.
* **Required endpoints (3003).** Only ``credentials`` is required, for both partner roles: it
  is the one module the spec makes mandatory (reference "Most modules (except Credentials &
  Registration) are optional") and every flow has an alternative (a push instead of a pull).
  The modules the gateway would use are listed in :data:`USED_ENDPOINTS`; a missing one is
  logged at registration with what it disables.
* **Our identity.** 2.2.1 credentials carry one role per configured party facing the partner
  (the opposite role; HUB parties when there is none). 2.1.1 credentials carry the first party of
  the role implied by the URL used (white-label parties need one 2.1.1 connection each).
* **Our versions URL** given to a 2.1.1 partner is the role-specific one
  (``/ocpi/cpo/versions`` or ``/ocpi/emsp/versions``), to a 2.2.1 partner ``/ocpi/versions``.
* **Tokens.** Fresh tokens are 64 URL-safe characters (printable ASCII, ocpi.md §1.2). Incoming
  tokens are stored as hashes only. On a rotation the old incoming token stays valid for
  ``ocpi.token_grace_seconds`` (ocpi#568).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from bridge.errors import (
    BridgeError,
    ClientApiUnusable,
    ConfigError,
    MethodNotAllowed,
    NoMatchingEndpoints,
    PartnerError,
    UnsupportedVersion,
)
from bridge.ocpi.client import Discovery, OcpiClient, OcpiClients, find_endpoint
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.store.base import PartnerRecord
from mappings.ocpi_versions import credentials_up

if TYPE_CHECKING:
    from bridge.config import BridgeConfig, OcpiParty, PartnerConfig
    from bridge.store.base import DataApi, Store

log = logging.getLogger("bridge.ocpi.registration")

RoleUrl = Literal["CPO", "EMSP"]

REQUIRED_ENDPOINTS: dict[str, tuple[str, ...]] = {"CPO": ("credentials",), "EMSP": ("credentials",)}
"""Modules a partner must offer, per partner role, or the handshake fails with 3003."""

USED_ENDPOINTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "CPO": (
        ("locations", "SENDER", "re-syncing its locations by GET after an outage"),
        ("tokens", "RECEIVER", "pushing tokens to it"),
        ("commands", "RECEIVER", "remote start/stop"),
        ("sessions", "SENDER", "re-syncing sessions by GET"),
        ("cdrs", "SENDER", "re-syncing CDRs by GET"),
        ("tariffs", "SENDER", "re-syncing tariffs by GET"),
    ),
    "EMSP": (
        ("tokens", "SENDER", "real-time authorization and token sync"),
        ("locations", "RECEIVER", "pushing locations to it"),
        ("sessions", "RECEIVER", "pushing sessions to it"),
        ("cdrs", "RECEIVER", "pushing CDRs to it"),
        ("tariffs", "RECEIVER", "pushing tariffs to it"),
    ),
}
"""Modules the gateway uses on a partner of each role, and what a missing one disables."""

Credentials = v221.Credentials | v211.Credentials


def new_token() -> str:
    """A fresh credentials token: 64 printable ASCII characters from a CSPRNG (ocpi.md §1.2)."""
    return secrets.token_urlsafe(48)


# ---- our identity ---------------------------------------------------------------------------


def facing_role(partner_role: str) -> RoleUrl:
    """The role of ours that faces a partner of ``partner_role`` (a CPO faces an eMSP)."""
    return "EMSP" if partner_role == "CPO" else "CPO"


def facing_parties(config: BridgeConfig, partner_role: str) -> list[OcpiParty]:
    """Our parties facing a partner: those of the opposite role, or the HUB parties if none.

    This is what the credentials ``roles`` announce (2.2.1) and whose objects the partner may
    reach; module routes use it to tell which of our parties a caller talks to.
    """
    return config.ocpi.parties_with_role(facing_role(partner_role)) or config.ocpi.parties_with_role("HUB")


def role_url_prefix(role: str) -> str:
    """``/ocpi/cpo`` or ``/ocpi/emsp``: where the 2.1.1 documents of one of our roles live."""
    return f"/ocpi/{role.lower()}"


def has_role_urls(config: BridgeConfig, role: str) -> bool:
    """Role-specific 2.1.1 URLs are served for our CPO and eMSP roles when 2.1.1 is enabled."""
    if "2.1.1" not in config.ocpi.versions or role not in ("CPO", "EMSP"):
        return False
    return any(party.role == role for party in config.ocpi.parties)


def our_versions_url(
    config: BridgeConfig, version: str, partner_role: str, url_role: str | None = None
) -> str:
    """The versions URL we give a partner: role-specific for 2.1.1, combined for 2.2.1."""
    public = str(config.public_url).rstrip("/")
    if version == "2.1.1":
        role = url_role or facing_role(partner_role)
        if has_role_urls(config, role):
            return f"{public}{role_url_prefix(role)}/versions"
    return f"{public}/ocpi/versions"


def _business_details(party: OcpiParty) -> dict[str, Any]:
    details: dict[str, Any] = {"name": party.name}
    if party.website:
        details["website"] = party.website
    return details


def our_credentials(
    config: BridgeConfig, *, version: str, token: str, partner_role: str, url_role: str | None = None
) -> Credentials:
    """Our Credentials object for a partner (ocpi.md §1.2): the token is raw, never Base64."""
    url = our_versions_url(config, version, partner_role, url_role)
    parties = facing_parties(config, partner_role)
    if version == "2.1.1":
        role = url_role or facing_role(partner_role)
        chosen = [p for p in parties if p.role == role] or parties
        if not chosen:
            raise ConfigError(str(config.config_path or "config"), "ocpi.parties", f"no {role} party")
        party = chosen[0]
        return v211.Credentials(
            token=token,
            url=url,
            business_details=v211.BusinessDetails.model_validate(_business_details(party)),
            party_id=party.party_id,
            country_code=party.country_code,
        )
    return v221.Credentials(
        token=token,
        url=url,
        roles=[
            v221.CredentialsRole(
                role=v221.Role(p.role),
                business_details=v221.BusinessDetails.model_validate(_business_details(p)),
                party_id=p.party_id,
                country_code=p.country_code,
            )
            for p in parties
        ],
    )


def credentials_model(version: str) -> type[v221.Credentials] | type[v211.Credentials]:
    return v211.Credentials if version == "2.1.1" else v221.Credentials


def partner_roles(credentials: Credentials, partner_role: str) -> list[dict[str, Any]]:
    """The partner's credentials roles in 2.2.1 form; a 2.1.1 body gets the connection's role."""
    if isinstance(credentials, v211.Credentials):
        credentials = credentials_up(credentials, role=v221.Role(partner_role)).value
    return [r.model_dump(mode="json", exclude_none=True) for r in credentials.roles]


# ---- checks on what the partner offers ------------------------------------------------------


def check_endpoints(name: str, partner_role: str, endpoints: list[dict[str, Any]]) -> None:
    """Raise 3003 when a required module is missing; log the useful ones that are missing."""
    offered = {(e["identifier"], e.get("role")) for e in endpoints}
    modules = {identifier for identifier, _ in offered}
    missing = [m for m in REQUIRED_ENDPOINTS.get(partner_role, ("credentials",)) if m not in modules]
    if missing:
        raise NoMatchingEndpoints(f"{name} does not offer the required endpoint(s): {', '.join(missing)}")
    lacking = [
        f"{module} {role} ({purpose})"
        for module, role, purpose in USED_ENDPOINTS.get(partner_role, ())
        if (module, role) not in offered
    ]
    if lacking:
        log.warning("%s does not offer: %s", name, "; ".join(lacking))


def _check_roles(partner: PartnerRecord, config: BridgeConfig, roles: list[dict[str, Any]]) -> None:
    """Warn when the partner's credentials do not show the role/party the configuration expects."""
    configured = config.partner(partner.name)
    if not any(r.get("role") in (partner.role, "HUB") for r in roles):
        log.warning(
            "%s is configured as a %s but its credentials list no such role", partner.name, partner.role
        )
    if configured is not None and configured.country_code and configured.party_id:
        wanted = (configured.country_code.upper(), configured.party_id.upper())
        if not any(
            (str(r.get("country_code")).upper(), str(r.get("party_id")).upper()) == wanted for r in roles
        ):
            log.warning("%s: its credentials do not list the configured party %s/%s", partner.name, *wanted)


def _registered(
    config: BridgeConfig, partner: PartnerRecord, discovery: Discovery, credentials: Credentials
) -> PartnerRecord:
    """The partner's record once a registration completes (ocpi.md §1.3, either side): the version
    agreed and its endpoints, the partner's versions URL, roles (checked against the configuration,
    warnings only) and token, status ``registered``."""
    roles = partner_roles(credentials, partner.role)
    _check_roles(partner, config, roles)
    return replace(
        partner,
        version=discovery.version,
        versions_url=credentials.url,
        endpoints=discovery.endpoints,
        roles=roles,
        token_out=credentials.token,
        status="registered",
    )


# ---- inbound: the partner is the Sender -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    """The outcome of an accepted POST/PUT: the stored partner and our new token (for the answer)."""

    partner: PartnerRecord
    token: str = field(repr=False)


async def accept_credentials(
    config: BridgeConfig,
    store: Store,
    clients: OcpiClients,
    partner: PartnerRecord,
    credentials: Credentials,
    *,
    version: str,
    update: bool,
) -> Accepted:
    """Receiver side of POST (``update=False``) and PUT (``update=True``) (ocpi.md §1.3 step 4, §1.4).

    With the partner's token B: ``GET versions`` and ``GET version details`` of ``version`` (the
    version of the credentials URL used) — also on a PUT, even if nothing changed. A failed GET
    is 3001, ``version`` not listed 3002, a missing required endpoint 3003; nothing is changed
    then. Otherwise a new token C is stored (hash) as CURRENT (a PUT keeps the old one for the
    grace period; a POST kills token A), the partner's version, endpoints, roles and token B are
    saved, and C is returned for the answer.
    """
    configured = config.partner(partner.name)
    pinned = configured.version if configured is not None else None
    if pinned is not None and pinned != version:
        raise UnsupportedVersion(f"{partner.name} is configured for OCPI {pinned}, not {version}")
    encoding = clients.encoding_of(partner.name, partner.token_encoding)
    client = clients.with_token(credentials.token, name=partner.name, encoding=encoding, version=version)
    try:
        discovery = await client.discover(
            credentials.url, ours=config.ocpi.versions, partner_role=partner.role, version=version
        )
    except PartnerError as error:
        raise ClientApiUnusable(f"Unable to use the client's API: {error}") from error
    check_endpoints(partner.name, partner.role, discovery.endpoints)
    registered = _registered(config, partner, discovery, credentials)
    token_c = new_token()
    async with store.transaction() as tx:
        await tx.set_incoming_token(
            partner.name, token_c, "CURRENT", grace_seconds=config.ocpi.token_grace_seconds if update else 0
        )
        if not update:
            await tx.revoke_incoming_tokens(partner.name, "A")
        saved = await tx.save_partner(registered)
    log.info(
        "%s %s with us: OCPI %s, %d endpoints",
        partner.name,
        "updated its credentials" if update else "registered",
        discovery.version,
        len(discovery.endpoints),
    )
    return Accepted(partner=saved, token=token_c)


async def drop_registration(store: Store, partner: PartnerRecord) -> PartnerRecord:
    """Unregister locally (ocpi.md §1.4 DELETE): every incoming token revoked, ``token_out``
    forgotten, status ``unregistered``; both sides stop all automated communication."""
    async with store.transaction() as tx:
        await tx.revoke_incoming_tokens(partner.name)
        saved = await tx.save_partner(replace(partner, token_out=None, status="unregistered"))
    log.info("%s is unregistered", partner.name)
    return saved


# ---- outbound: the gateway is the Sender ----------------------------------------------------


def _configured(config: BridgeConfig, name: str) -> PartnerConfig:
    partner = config.partner(name)
    if partner is None:
        raise ConfigError(str(config.config_path or "config"), "partners", f"no partner named {name!r}")
    return partner


async def _record(store: DataApi, name: str) -> PartnerRecord:
    record = await store.get_partner(name)
    if record is None:
        raise BridgeError(f"partner {name!r} is not in the store (start the gateway once to add it)")
    return record


async def prepare_registration(
    config: BridgeConfig, store: DataApi, clients: OcpiClients, name: str
) -> tuple[PartnerRecord, OcpiClient, Discovery]:
    """Sender side, step 2 (ocpi.md §1.3): with the partner's TOKEN_A, ``GET versions`` and the
    details of the highest mutual version; refuse (3003) when the endpoints we need are missing.
    Only GETs: safe to repeat when the partner is unreachable."""
    partner = _configured(config, name)
    if partner.registration != "outbound" or partner.token is None or partner.versions_url is None:
        raise ConfigError(
            str(config.config_path or "config"),
            f"partners[{config.partners.index(partner)}]",
            f"{name} registers with us (token_a); the gateway cannot register with it",
        )
    record = await _record(store, name)
    if record.status == "registered":
        raise MethodNotAllowed(f"{name} is already registered (use update-credentials, or unregister first)")
    client = clients.with_token(partner.token.get_secret_value(), name=name, encoding=partner.token_encoding)
    ours = [partner.version] if partner.version else list(config.ocpi.versions)
    discovery = await client.discover(partner.versions_url, ours=ours, partner_role=partner.role)
    check_endpoints(name, partner.role, discovery.endpoints)
    return record, client, discovery


async def complete_registration(
    config: BridgeConfig, store: DataApi, record: PartnerRecord, client: OcpiClient, discovery: Discovery
) -> PartnerRecord:
    """Sender side, steps 3 and 5: store token B (hash) as our CURRENT incoming token *before*
    the POST (the partner calls back with it), POST our credentials with TOKEN_A, store the
    answer's token C as ``token_out``. On failure token B is revoked again; nothing is retried
    (ocpi.md §3.1)."""
    token_b = new_token()
    await store.set_incoming_token(record.name, token_b, "CURRENT")
    body = our_credentials(config, version=discovery.version, token=token_b, partner_role=record.role)
    try:
        credentials_url = find_endpoint(discovery.endpoints, "credentials", name=record.name)
        reply = await client.request(
            "POST", credentials_url, body=body, module="credentials", version=discovery.version
        )
        answer = reply.parse(credentials_model(discovery.version))
    except BridgeError:
        await store.revoke_incoming_tokens(record.name, "CURRENT")
        raise
    saved = await store.save_partner(_registered(config, record, discovery, answer))
    log.info(
        "registered with %s: OCPI %s, %d endpoints", record.name, discovery.version, len(discovery.endpoints)
    )
    return saved


async def register(config: BridgeConfig, store: DataApi, clients: OcpiClients, name: str) -> PartnerRecord:
    """``register NAME``: the whole Sender-side handshake with an outbound partner (ocpi.md §1.3).

    The gateway must be serving at ``public_url`` meanwhile: the partner calls back our versions
    with token B.
    """
    record, client, discovery = await prepare_registration(config, store, clients, name)
    return await complete_registration(config, store, record, client, discovery)


async def update_credentials(
    config: BridgeConfig, store: Store, clients: OcpiClients, name: str
) -> PartnerRecord:
    """``update-credentials NAME``: PUT our new credentials (ocpi.md §1.4).

    Re-reads the partner's versions and details with our current token, chooses the highest
    mutual version (a PUT on the partner's 2.2.1 credentials URL upgrades a 2.1.1 connection),
    PUTs a new token and stores the partner's new token and endpoints. Works whoever initiated
    the registration.

    The new incoming token is first stored in the partner's (dead) token-A slot: during the PUT
    the partner only calls our versions with it, which a registration token may do. Only when
    the PUT succeeded does it become CURRENT, the old one staying valid for
    ``ocpi.token_grace_seconds`` (ocpi#568). If the PUT fails the new token is revoked and the
    connection goes on with the old tokens, untouched.
    """
    record = await _record(store, name)
    if record.status != "registered":
        raise MethodNotAllowed(f"{name} is not registered (use register)")
    if record.versions_url is None:
        raise BridgeError(f"{name}: no versions URL is known")
    configured = config.partner(name)
    pinned = configured.version if configured is not None else None
    client = clients.for_partner(record)
    ours = [pinned] if pinned else list(config.ocpi.versions)
    discovery = await client.discover(record.versions_url, ours=ours, partner_role=record.role)
    check_endpoints(name, record.role, discovery.endpoints)
    token = new_token()
    await store.set_incoming_token(name, token, "A")
    body = our_credentials(config, version=discovery.version, token=token, partner_role=record.role)
    try:
        reply = await client.request(
            "PUT",
            find_endpoint(discovery.endpoints, "credentials", name=name),
            body=body,
            module="credentials",
            version=discovery.version,
        )
        answer = reply.parse(credentials_model(discovery.version))
    except BridgeError:
        await store.revoke_incoming_tokens(name, "A")
        raise
    async with store.transaction() as tx:
        await tx.revoke_incoming_tokens(name, "A")
        await tx.set_incoming_token(name, token, "CURRENT", grace_seconds=config.ocpi.token_grace_seconds)
        saved = await tx.save_partner(
            replace(
                record,
                version=discovery.version,
                versions_url=answer.url,
                endpoints=discovery.endpoints,
                roles=partner_roles(answer, record.role),
                token_out=answer.token,
            )
        )
    log.info(
        "updated credentials with %s: OCPI %s, %d endpoints",
        name,
        discovery.version,
        len(discovery.endpoints),
    )
    return saved


async def unregister(
    config: BridgeConfig, store: Store, clients: OcpiClients, name: str, *, force: bool = False
) -> PartnerRecord:
    """``unregister NAME``: DELETE on the partner's credentials, then unregister locally.

    ``force`` unregisters locally even when the partner cannot be told (unreachable, error).
    """
    record = await _record(store, name)
    if record.status != "registered":
        raise MethodNotAllowed(f"{name} is not registered")
    try:
        client = clients.for_partner(record)
        await client.request("DELETE", client.endpoint("credentials"), module="credentials")
    except PartnerError as error:
        if not force:
            raise
        log.warning("%s could not be told (%s); unregistering locally", name, error)
    return await drop_registration(store, record)


__all__ = [
    "REQUIRED_ENDPOINTS",
    "USED_ENDPOINTS",
    "Accepted",
    "accept_credentials",
    "check_endpoints",
    "complete_registration",
    "drop_registration",
    "facing_parties",
    "facing_role",
    "has_role_urls",
    "new_token",
    "our_credentials",
    "our_versions_url",
    "partner_roles",
    "prepare_registration",
    "register",
    "role_url_prefix",
    "unregister",
    "update_credentials",
]
