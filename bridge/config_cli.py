"""``ocpi-oicp-bridge check-config --config FILE``: validate a configuration and print a summary.

An invalid file raises :class:`bridge.errors.ConfigError`; ``bridge.cli.main`` prints it as one line
``error: <file>: <key.path>: <reason>`` and exits with code 2. A valid file prints what the gateway
would do with it and exits 0. Secrets are never printed: partner tokens show as ``***`` and the
store password is masked (docs/configuration.md, "check-config").
"""

from __future__ import annotations

import argparse

from bridge.config import MASK, BridgeConfig, PartnerConfig, load_config, mask_url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", required=True, metavar="FILE", help="path of the gateway configuration (bridge.yaml)"
    )


def _partner_line(partner: PartnerConfig, config: BridgeConfig) -> str:
    identity = "/".join(part for part in (partner.country_code, partner.party_id) if part)
    details: list[str] = [partner.role]
    if identity:
        details.append(identity)
    details.append(f"OCPI {partner.version}" if partner.version else "OCPI version negotiated")
    details.append(f"token encoding {partner.token_encoding}")
    if partner.registration == "outbound":
        assert partner.versions_url is not None
        how = f"the gateway registers at {mask_url(partner.versions_url)} with token {MASK}"
    else:
        how = f"the partner registers at {mask_url(config.ocpi_versions_url)} with token_a {MASK}"
    return f"  - {partner.name} ({', '.join(details)}): {how}"


def summary(config: BridgeConfig) -> str:
    """A short human description of a valid configuration; contains no secret."""
    lines = [f"configuration OK: {config.config_path}" if config.config_path else "configuration OK"]
    lines.append(f"listen:     {config.listen.host}:{config.listen.port}")
    lines.append(f"public_url: {mask_url(config.public_url)}")
    lines.append(f"store:      {config.store_display}")
    lines.append(f"mappings:   {config.mappings}")
    ocpi = config.ocpi
    lines.append(
        f"ocpi:       versions {', '.join(ocpi.versions)}; page limit {ocpi.page_limit}; "
        f"max body {ocpi.max_body_bytes} bytes; old token grace {ocpi.token_grace_seconds} s"
    )
    for party in ocpi.parties:
        lines.append(f"  - {party.role} {party.country_code}/{party.party_id} {party.name!r}")
    hubject = config.hubject
    if not hubject.enabled:
        lines.append("hubject:    disabled")
    else:
        assert hubject.url is not None
        lines.append(f"hubject:    {mask_url(hubject.url)}")
        if hubject.acts_as_cpo:
            lines.append(f"  - acts as OICP CPO, OperatorID {hubject.operator_id} ({hubject.operator_name})")
        if hubject.acts_as_emp:
            lines.append(f"  - acts as OICP EMP, ProviderID {hubject.provider_id}")
        tls = hubject.tls
        if tls.mutual:
            lines.append(f"  - mutual TLS: cert {tls.cert}, key {tls.key}")
        if tls.ca is not None:
            lines.append(f"  - trusted CA: {tls.ca}")
    if config.partners:
        lines.append(f"partners:   {len(config.partners)}")
        lines.extend(_partner_line(partner, config) for partner in config.partners)
    else:
        lines.append("partners:   none")
    lines.append(f"logging:    {config.logging.level}{', JSON lines' if config.logging.json else ''}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(summary(config))
    return 0
