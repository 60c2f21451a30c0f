"""Configured partners brought into the store at start.

The configuration is the source of truth for *who* the partners are; the store keeps what the
credentials handshake learnt (version, endpoints, tokens). At start:

* a partner new to the store gets a record (status ``new``);
* an inbound partner (``token_a``) that has not registered yet gets its TOKEN_A hash, so it can
  call ``versions`` and ``credentials`` (ocpi.md §1.3). Once registered, token A is dead and is
  not brought back by a restart;
* an outbound partner (``versions_url`` + ``token``) keeps the partner's TOKEN_A as ``token_out``
  until the handshake replaces it with TOKEN_C;
* the role and the egress encoding follow the configuration.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from bridge.store.base import PartnerRecord, utcnow

if TYPE_CHECKING:
    from bridge.config import BridgeConfig, PartnerConfig
    from bridge.store.base import DataApi

log = logging.getLogger("bridge.partners")


def _new_record(partner: PartnerConfig) -> PartnerRecord:
    token_out = partner.token.get_secret_value() if partner.token is not None else None
    return PartnerRecord(
        name=partner.name,
        role=partner.role,
        version=partner.version,
        versions_url=partner.versions_url,
        token_out=token_out,
        token_encoding=partner.token_encoding,
        status="new",
    )


async def sync_configured_partners(config: BridgeConfig, store: DataApi) -> None:
    """Make the store agree with the configured partner list (idempotent; safe on every start)."""
    for partner in config.partners:
        record = await store.get_partner(partner.name)
        if record is None:
            record = await store.save_partner(_new_record(partner))
            log.info(
                "partner %s added (%s, %s registration)", partner.name, partner.role, partner.registration
            )
        elif record.role != partner.role or record.token_encoding != partner.token_encoding:
            record = await store.save_partner(
                replace(record, role=partner.role, token_encoding=partner.token_encoding, updated_at=utcnow())
            )
        if record.status == "registered":
            continue
        if partner.token_a is not None:
            await store.set_incoming_token(partner.name, partner.token_a.get_secret_value(), "A")
        elif partner.token is not None and record.token_out is None:
            await store.save_partner(
                replace(record, token_out=partner.token.get_secret_value(), versions_url=partner.versions_url)
            )
