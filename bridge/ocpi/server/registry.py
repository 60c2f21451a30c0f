"""Which OCPI module endpoints the gateway offers, per version and per role.

Version details (ocpi.md §1.1) are built from this registry, so a module is advertised exactly
when its routes are mounted. 2.2.1 lists every module with its InterfaceRole in one document;
2.1.1 has no roles, so a gateway that is both CPO and eMSP publishes role-specific documents
(``/ocpi/cpo/2.1.1``, ``/ocpi/emsp/2.1.1``) listing the endpoints of one ``party_role`` each.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import BaseRoute


@dataclass(frozen=True, slots=True)
class ModuleEndpoint:
    """One module interface: ``identifier`` (ModuleID), ``role`` (SENDER/RECEIVER, 2.2.1),
    ``party_role`` (which of our roles serves it: "CPO", "EMSP", or None for credentials),
    ``path`` relative to ``/ocpi/{version}/`` and the routes that implement it.

    In 2.1.1 the CPO and eMSP interfaces of one module must have different ``path`` values
    (``cpo/locations``, ``emsp/locations``): the URL is all that tells them apart.
    """

    version: str
    identifier: str
    role: str
    party_role: str | None
    path: str
    routes: tuple[BaseRoute, ...] = ()


class EndpointRegistry:
    """The endpoints the version details advertise; filled while the routes are built."""

    def __init__(self) -> None:
        self._endpoints: list[ModuleEndpoint] = []

    def add(self, endpoint: ModuleEndpoint) -> None:
        """Register one interface; the same (version, identifier, role, party_role) twice is a bug."""
        key = (endpoint.version, endpoint.identifier, endpoint.role, endpoint.party_role)
        for known in self._endpoints:
            if (known.version, known.identifier, known.role, known.party_role) == key:
                raise ValueError(f"endpoint registered twice: {key}")
        self._endpoints.append(endpoint)

    def for_version(self, version: str, *, party_role: str | None = None) -> list[ModuleEndpoint]:
        """Endpoints of ``version``; with ``party_role`` only that role's (plus credentials)."""
        return [
            e
            for e in self._endpoints
            if e.version == version and (party_role is None or e.party_role in (None, party_role))
        ]

    def all(self) -> list[ModuleEndpoint]:
        return list(self._endpoints)
