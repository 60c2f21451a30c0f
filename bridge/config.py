"""The gateway configuration: one YAML file, validated once at start into frozen pydantic models.

``load_config(path)`` reads the file, replaces ``${VAR}`` / ``${VAR:-default}`` in string values
(``$$`` is a literal dollar), validates the result into :class:`BridgeConfig` and resolves relative
file paths against the directory of the file. The resulting object is passed to whoever needs it;
nothing reads the file or the environment again.

Every problem becomes exactly one :class:`bridge.errors.ConfigError` naming the file, the key path
(``partners[1].token``, ``hubject.tls.cert``) and what is wrong. Secrets (partner tokens, the TLS key
passphrase, the PostgreSQL password) are ``SecretStr`` and never appear in an error message.

The sections that tune the flows (``delivery``, ``cpo``, ``emsp``, ``hubject.server_deadlines``)
live in :mod:`bridge.config_flows`, the shared base class in :mod:`bridge.config_base`. Every key
is documented in ``docs/configuration.md`` (a test keeps the two in step).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bridge.config_base import (
    OPERATOR_ID_PATTERN,
    ConfigModel,
    ConfigValueError,
    OptionalPath,
    empty_to_none,
    existing_file,
    resolve_path,
)
from bridge.config_flows import (
    CpoConfig,
    CpoPartyConfig,
    DeliveryConfig,
    EmspConfig,
    EvseDataConfig,
    HubjectServerDeadlines,
    RetryConfig,
    check_flow_sections,
)
from bridge.errors import ConfigError

# OICP 2.3 ProviderID (oicp-2.3.md, OpenAPI ``ProviderID`` pattern; the OperatorID one is in config_base).
PROVIDER_ID_PATTERN = re.compile(r"^([A-Za-z]{2}\-?[A-Za-z0-9]{3}|[A-Za-z]{2}[\*|-]?[A-Za-z0-9]{3})$")
# OCPI 2.2.1 credentials token: string(64) of printable non-whitespace ASCII U+0021..U+007E (ocpi.md §1.2).
OCPI_TOKEN_PATTERN = re.compile(r"^[\x21-\x7e]{1,64}$")
PARTNER_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

OcpiVersion = Literal["2.2.1", "2.1.1"]
OcpiPartyRole = Literal["CPO", "EMSP", "HUB"]
PartnerRole = Literal["CPO", "EMSP"]
TokenEncoding = Literal["auto", "base64", "raw"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

DEFAULT_OCPI_VERSIONS: tuple[OcpiVersion, ...] = ("2.2.1", "2.1.1")
MASK = "***"


# --------------------------------------------------------------------------------------------
# Small value helpers


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _check_http_url(value: str) -> str:
    """An absolute http(s) URL without query or fragment; a trailing slash is dropped."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError as error:
        raise ValueError(f"not a valid URL ({error})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("the URL has no host")
    if parts.query or parts.fragment:
        raise ValueError("the URL must not have a query string or fragment")
    return text.rstrip("/")


def mask_url(url: str) -> str:
    """The URL with any password (userinfo or ``password=`` query parameter) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return MASK
    masked_query = any(key.lower() == "password" for key, _ in parse_qsl(parts.query, keep_blank_values=True))
    if password is None and not masked_query:
        return url
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostport}"
    query = parts.query
    if masked_query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(key, MASK if key.lower() == "password" else val) for key, val in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _check_country_code(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError("must be 2 letters (ISO 3166-1 alpha-2 country code)")
    return value


def _check_party_id(value: str) -> str:
    if not re.fullmatch(r"[A-Z0-9]{3}", value):
        raise ValueError("must be 3 letters or digits (OCPI party_id)")
    return value


def _check_token(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not OCPI_TOKEN_PATTERN.match(value.get_secret_value()):
        raise ValueError("must be 1 to 64 printable ASCII characters without spaces (OCPI credentials token)")
    return value


OptionalUrl = Annotated[str | None, BeforeValidator(empty_to_none)]
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(empty_to_none)]
OptionalStr = Annotated[str | None, BeforeValidator(empty_to_none)]


# --------------------------------------------------------------------------------------------
# Models


class ListenConfig(ConfigModel):
    """Where uvicorn listens."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=1, le=65535)


class HubjectTls(ConfigModel):
    """Mutual TLS toward Hubject (oicp-2.3.md §1: the client certificate identifies the operator)."""

    cert: OptionalPath = None
    key: OptionalPath = None
    ca: OptionalPath = None
    key_passphrase: OptionalSecret = None

    @field_validator("cert", "key", "ca")
    @classmethod
    def _files_exist(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return existing_file(value, info)

    @model_validator(mode="after")
    def _pairs(self) -> Self:
        if self.cert is not None and self.key is None:
            raise ConfigValueError("key", "required when cert is set (the client certificate needs its key)")
        if self.key is not None and self.cert is None:
            raise ConfigValueError("cert", "required when key is set (the key needs its client certificate)")
        if self.key_passphrase is not None and self.key is None:
            raise ConfigValueError("key_passphrase", "set without a key")
        return self

    @property
    def mutual(self) -> bool:
        """True when a client certificate is presented to Hubject."""
        return self.cert is not None


class HubjectTimeouts(ConfigModel):
    """Client timeouts in seconds per kind of call (oicp-2.3.md §1.5 recommendation)."""

    authorize: float = Field(default=30.0, gt=0, le=3600)
    push: float = Field(default=60.0, gt=0, le=3600)
    cdr: float = Field(default=60.0, gt=0, le=3600)
    pull: float = Field(default=120.0, gt=0, le=3600)
    connect: float = Field(default=10.0, gt=0, le=3600)


class HubjectConfig(ConfigModel):
    """The OICP 2.3 side. ``operator_id`` makes the gateway an OICP CPO, ``provider_id`` an OICP EMP."""

    enabled: bool = False
    url: OptionalUrl = None
    operator_id: OptionalStr = None
    operator_name: Annotated[Annotated[str, Field(max_length=100)] | None, BeforeValidator(empty_to_none)] = (
        None
    )
    provider_id: OptionalStr = None
    tls: HubjectTls = Field(default_factory=HubjectTls)
    timeouts: HubjectTimeouts = Field(default_factory=HubjectTimeouts)
    server_deadlines: HubjectServerDeadlines = Field(default_factory=HubjectServerDeadlines)

    @model_validator(mode="before")
    @classmethod
    def _default_enabled(cls, data: Any) -> Any:
        """``enabled`` defaults to whether a ``url`` is given (an empty ``${HUBJECT_URL:-}`` = none)."""
        if data is None:
            data = {}
        if isinstance(data, Mapping) and empty_to_none(data.get("enabled")) is None:
            url = empty_to_none(data.get("url"))
            return {**data, "enabled": url is not None}
        return data

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value)

    @field_validator("operator_id")
    @classmethod
    def _operator_id(cls, value: str | None) -> str | None:
        if value is not None and not OPERATOR_ID_PATTERN.match(value):
            raise ValueError("not a valid OICP OperatorID (e.g. DE*ABC, DEABC or +49*810)")
        return value

    @field_validator("provider_id")
    @classmethod
    def _provider_id(cls, value: str | None) -> str | None:
        if value is not None and not PROVIDER_ID_PATTERN.match(value):
            raise ValueError("not a valid OICP ProviderID (e.g. DE-ABC, DE*ABC or DEABC)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.enabled and self.url is None:
            raise ConfigValueError("url", "required when hubject.enabled is true")
        if self.enabled and self.operator_id is None and self.provider_id is None:
            raise ConfigValueError(
                "enabled",
                "Hubject is enabled but neither operator_id (act as CPO) nor provider_id (act as EMP) is set",
            )
        if self.operator_id is not None and self.operator_name is None:
            raise ConfigValueError(
                "operator_name", "required when operator_id is set (PushEvseData needs OperatorName)"
            )
        return self

    @property
    def acts_as_cpo(self) -> bool:
        return self.enabled and self.operator_id is not None

    @property
    def acts_as_emp(self) -> bool:
        return self.enabled and self.provider_id is not None


class OcpiParty(ConfigModel):
    """One OCPI identity of the gateway: a CredentialsRole (OCPI 2.2.1 credentials, ocpi.md §1.2)."""

    country_code: Annotated[str, BeforeValidator(_upper)]
    party_id: Annotated[str, BeforeValidator(_upper)]
    role: Annotated[OcpiPartyRole, BeforeValidator(_upper)]
    name: str = Field(min_length=1, max_length=100)
    website: OptionalUrl = None

    @field_validator("country_code")
    @classmethod
    def _country_code(cls, value: str) -> str:
        return _check_country_code(value)

    @field_validator("party_id")
    @classmethod
    def _party_id(cls, value: str) -> str:
        return _check_party_id(value)

    @field_validator("website")
    @classmethod
    def _website(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value)


class OcpiTimeouts(ConfigModel):
    """OCPI client timeouts in seconds; ``command`` bounds the wait for a partner's CommandResponse."""

    connect: float = Field(default=5.0, gt=0, le=3600)
    read: float = Field(default=30.0, gt=0, le=3600)
    command: float = Field(default=30.0, gt=0, le=3600)


class OcpiConfig(ConfigModel):
    """The OCPI side: the gateway's identities and server limits."""

    parties: list[OcpiParty] = Field(min_length=1)
    versions: list[OcpiVersion] = Field(default_factory=lambda: list(DEFAULT_OCPI_VERSIONS), min_length=1)
    page_limit: int = Field(default=100, ge=1, le=10000)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    token_grace_seconds: int = Field(default=600, ge=0)
    timeouts: OcpiTimeouts = Field(default_factory=OcpiTimeouts)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        """(role, country_code, party_id) must be unique (OCPI 2.2.1 credentials, ocpi.md §1.2)."""
        seen: dict[tuple[str, str, str], int] = {}
        for index, party in enumerate(self.parties):
            identity = (party.role, party.country_code, party.party_id)
            if identity in seen:
                raise ConfigValueError(
                    f"parties[{index}]",
                    f"same role, country_code and party_id as parties[{seen[identity]}]",
                )
            seen[identity] = index
        for index, version in enumerate(self.versions):
            if version in self.versions[:index]:
                raise ConfigValueError(f"versions[{index}]", f"{version} is listed twice")
        return self

    def parties_with_role(self, role: OcpiPartyRole) -> list[OcpiParty]:
        return [party for party in self.parties if party.role == role]


class PartnerConfig(ConfigModel):
    """One OCPI partner and how the registration handshake goes (ocpi.md §1.3).

    Either ``versions_url`` + ``token``: the partner gave us its TOKEN_A and the gateway registers
    with it; or ``token_a``: we gave the partner this TOKEN_A and it registers with us at
    ``{public_url}/ocpi/versions``.
    """

    name: str
    role: Annotated[PartnerRole, BeforeValidator(_upper)]
    country_code: Annotated[str | None, BeforeValidator(empty_to_none), BeforeValidator(_upper)] = None
    party_id: Annotated[str | None, BeforeValidator(empty_to_none), BeforeValidator(_upper)] = None
    token_encoding: TokenEncoding = "auto"  # noqa: S105 -- an encoding name, not a secret
    version: Annotated[OcpiVersion | None, BeforeValidator(empty_to_none)] = None
    versions_url: OptionalUrl = None
    token: OptionalSecret = None
    token_a: OptionalSecret = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not PARTNER_NAME_PATTERN.match(value):
            raise ValueError(
                "must be a slug: lowercase letters, digits, '-' or '_', starting with a letter or digit, "
                "at most 63 characters"
            )
        return value

    @field_validator("country_code")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        return None if value is None else _check_country_code(value)

    @field_validator("party_id")
    @classmethod
    def _party_id(cls, value: str | None) -> str | None:
        return None if value is None else _check_party_id(value)

    @field_validator("versions_url")
    @classmethod
    def _versions_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value)

    @field_validator("token", "token_a")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        return _check_token(value)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        outbound = self.versions_url is not None or self.token is not None
        if outbound and self.token_a is not None:
            raise ValueError(
                "give either versions_url with token (the gateway registers with the partner) "
                "or token_a (the partner registers with the gateway), not both"
            )
        if self.token_a is not None:
            return self
        if self.versions_url is not None and self.token is None:
            raise ConfigValueError("token", "required with versions_url (the TOKEN_A the partner gave us)")
        if self.token is not None and self.versions_url is None:
            raise ConfigValueError("versions_url", "required with token (the partner's versions endpoint)")
        if not outbound:
            raise ValueError(
                "give either versions_url with token (the gateway registers with the partner) "
                "or token_a (the partner registers with the gateway)"
            )
        return self

    @property
    def registration(self) -> Literal["outbound", "inbound"]:
        """``outbound``: the gateway registers with the partner; ``inbound``: it registers with us."""
        return "inbound" if self.token_a is not None else "outbound"

    def egress_encoding(self, version: str) -> Literal["base64", "raw"]:
        """How to write our token in ``Authorization: Token ...`` to this partner (ocpi.md §1.5).

        ``auto``: Base64 for 2.2.1, raw for 2.1.1 (many 2.1.1 and 2.2 peers do not encode).
        """
        encoding = self.token_encoding
        if encoding != "auto":
            return encoding
        return "raw" if version == "2.1.1" else "base64"


class LoggingConfig(ConfigModel):
    """Log level and format. The YAML key ``json`` is the attribute ``json_lines`` (``json`` would
    shadow a pydantic method; the ``json`` property reads the same value)."""

    level: Annotated[LogLevel, BeforeValidator(_upper)] = "INFO"
    json_lines: bool = Field(default=False, alias="json")

    @property
    def json(self) -> bool:  # type: ignore[override]
        """Whether to log one JSON object per line instead of text."""
        return self.json_lines


def _check_store(value: SecretStr, info: ValidationInfo) -> SecretStr:
    """``sqlite:///path`` (relative to the config file, or ``sqlite:////abs``) or ``postgresql://...``.

    A relative SQLite path is made absolute here, so the store works from any working directory.
    Messages name the scheme only: the URL may carry a password.
    """
    url = value.get_secret_value().strip()
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise ValueError(
            "must be a URL: sqlite:///path/to/file.db or postgresql://user:password@host:port/db"
        )
    if scheme == "sqlite":
        if not rest.startswith("/") or len(rest) < 2:
            raise ValueError("a SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db")
        raw = rest[1:]
        if raw == ":memory:":
            return SecretStr("sqlite:///:memory:")
        path = resolve_path(Path(raw), info)
        if path.is_dir():
            raise ValueError(f"the SQLite path is a directory: {path}")
        return SecretStr(f"sqlite:///{path}")
    if scheme in ("postgresql", "postgres"):
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 -- raises ValueError on a malformed port
        except ValueError:
            raise ValueError("not a valid PostgreSQL URL (postgresql://user:password@host:port/db)") from None
        if not parts.hostname:
            raise ValueError("the PostgreSQL URL has no host")
        if not parts.path.strip("/"):
            raise ValueError("the PostgreSQL URL has no database name")
        return SecretStr("postgresql" + url[len(scheme) :])
    raise ValueError(f"unsupported scheme {scheme!r}: use sqlite:/// or postgresql://")


class BridgeConfig(ConfigModel):
    """The whole configuration. Built by :func:`load_config`; frozen; passed to whoever needs it."""

    listen: ListenConfig = Field(default_factory=ListenConfig)
    public_url: str
    store: SecretStr = Field(default=SecretStr("sqlite:///bridge.db"), validate_default=True)
    mappings: Path = Field(default=Path("mappings.yaml"), validate_default=True)
    ocpi: OcpiConfig
    hubject: HubjectConfig = Field(default_factory=HubjectConfig)
    partners: list[PartnerConfig] = Field(default_factory=list)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    cpo: CpoConfig = Field(default_factory=CpoConfig)
    emsp: EmspConfig = Field(default_factory=EmspConfig)

    _config_path: Path | None = PrivateAttr(default=None)

    @field_validator("partners", mode="before")
    @classmethod
    def _no_partners(cls, value: Any) -> Any:
        """``partners:`` with every entry commented out is YAML null: no partners."""
        return [] if value is None else value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("store")
    @classmethod
    def _store(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        return _check_store(value, info)

    @field_validator("mappings")
    @classmethod
    def _mappings(cls, value: Path, info: ValidationInfo) -> Path:
        path = existing_file(value, info)
        assert path is not None
        return path

    @model_validator(mode="after")
    def _cross_checks(self) -> Self:
        names: dict[str, int] = {}
        tokens_a: dict[str, int] = {}
        for index, partner in enumerate(self.partners):
            if partner.name in names:
                raise ConfigValueError(
                    f"partners[{index}].name",
                    f"{partner.name!r} is already used by partners[{names[partner.name]}]",
                )
            names[partner.name] = index
            if partner.token_a is not None:
                secret = partner.token_a.get_secret_value()
                if secret in tokens_a:
                    raise ConfigValueError(
                        f"partners[{index}].token_a",
                        f"the same token_a as partners[{tokens_a[secret]}]; each partner needs its own",
                    )
                tokens_a[secret] = index
            if partner.version is not None and partner.version not in self.ocpi.versions:
                raise ConfigValueError(
                    f"partners[{index}].version",
                    f"{partner.version} is not in ocpi.versions ({', '.join(self.ocpi.versions)})",
                )
            facing: OcpiPartyRole = "EMSP" if partner.role == "CPO" else "CPO"
            if not self.ocpi.parties_with_role(facing) and not self.ocpi.parties_with_role("HUB"):
                raise ConfigValueError(
                    f"partners[{index}].role",
                    f"the partner is a {partner.role} but ocpi.parties has no {facing} or HUB party"
                    " to face it",
                )
        return self

    @model_validator(mode="after")
    def _flow_settings_fit(self) -> Self:
        check_flow_sections(self)
        return self

    # -- derived values ---------------------------------------------------------------------

    @property
    def config_path(self) -> Path | None:
        """Absolute path of the file this configuration was loaded from (None if built in code)."""
        return self._config_path

    @property
    def acts_as_cpo(self) -> bool:
        """The gateway talks to Hubject as an OICP CPO (Hubject enabled and ``operator_id`` set)."""
        return self.hubject.acts_as_cpo

    @property
    def acts_as_emsp(self) -> bool:
        """The gateway talks to Hubject as an OICP EMP (Hubject enabled and ``provider_id`` set)."""
        return self.hubject.acts_as_emp

    @property
    def store_url(self) -> str:
        """The store URL with its password, for the store layer only. SQLite paths are absolute."""
        return self.store.get_secret_value()

    @property
    def store_kind(self) -> Literal["sqlite", "postgresql"]:
        return "sqlite" if self.store_url.startswith("sqlite:") else "postgresql"

    @property
    def sqlite_path(self) -> Path | None:
        """Absolute path of the SQLite file; None for PostgreSQL and for ``sqlite:///:memory:``."""
        if self.store_kind != "sqlite":
            return None
        raw = self.store_url.removeprefix("sqlite:///")
        return None if raw == ":memory:" else Path(raw)

    @property
    def store_display(self) -> str:
        """The store URL safe to print: the password is ``***``."""
        return mask_url(self.store_url)

    @property
    def ocpi_versions_url(self) -> str:
        """Where partners holding a ``token_a`` start the registration (ocpi.md §1.3)."""
        return f"{self.public_url}/ocpi/versions"

    def partner(self, name: str) -> PartnerConfig | None:
        return next((partner for partner in self.partners if partner.name == name), None)


# --------------------------------------------------------------------------------------------
# Loading: YAML, substitution, validation, one error


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: YAML silently keeps the last, hiding a typo."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MALFORMED = "malformed ${...}: use ${NAME} or ${NAME:-default} (write $$ for a literal dollar sign)"


class _Substitution:
    """``${VAR}``, ``${VAR:-default}`` and ``$$`` in one string value (docs/configuration.md).

    As in the shell, the default applies when the variable is unset or empty, may itself contain
    ``${...}`` (``${PUBLIC:-http://127.0.0.1:${PORT:-8080}}``) and is only expanded when used.
    A ``$`` followed by anything else is kept. Messages never echo the text: it may be a secret.
    """

    def __init__(self, text: str, key_path: str, environ: Mapping[str, str], file: str) -> None:
        self.text = text
        self.key_path = key_path
        self.environ = environ
        self.file = file

    def error(self, reason: str) -> ConfigError:
        return ConfigError(self.file, self.key_path, reason)

    def expand(self) -> str:
        value, _ = self._scan(0, nested=False, active=True)
        return value

    def _scan(self, pos: int, *, nested: bool, active: bool) -> tuple[str, int]:
        """Expand from ``pos`` to the end, or (``nested``) up to the ``}`` closing a default."""
        text = self.text
        parts: list[str] = []
        while pos < len(text):
            char = text[pos]
            if nested and char == "}":
                return "".join(parts), pos
            if char == "$" and text.startswith("$$", pos):
                parts.append("$")
                pos += 2
            elif char == "$" and text.startswith("${", pos):
                value, pos = self._variable(pos + 2, active=active)
                parts.append(value)
            else:
                parts.append(char)
                pos += 1
        if nested:
            raise self.error("unclosed '${' (write $$ for a literal dollar sign)")
        return "".join(parts), pos

    def _variable(self, pos: int, *, active: bool) -> tuple[str, int]:
        """One ``${...}`` whose name starts at ``pos``; returns its value and the position after it."""
        match = _VARIABLE_NAME.match(self.text, pos)
        if match is None:
            raise self.error(_MALFORMED)
        name, pos = match.group(), match.end()
        default: str | None = None
        if self.text.startswith("}", pos):
            pos += 1
        elif self.text.startswith(":-", pos):
            value = self.environ.get(name)
            use_default = active and (value is None or value == "")
            default, pos = self._scan(pos + 2, nested=True, active=use_default)
            pos += 1
        elif pos >= len(self.text):
            raise self.error("unclosed '${' (write $$ for a literal dollar sign)")
        else:
            raise self.error(_MALFORMED)
        if not active:
            return "", pos
        value = self.environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise self.error(
                    f"environment variable {name} is not set (write ${{{name}:-default}} for a default)"
                )
            return default, pos
        return value, pos


def _substitute_text(text: str, key_path: str, environ: Mapping[str, str], file: str) -> str:
    if "$" not in text:
        return text
    return _Substitution(text, key_path, environ, file).expand()


def _join(base: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{base}[{part}]"
    return f"{base}.{part}" if base else part


def _substitute(node: Any, key_path: str, environ: Mapping[str, str], file: str) -> Any:
    if isinstance(node, str):
        return _substitute_text(node, key_path, environ, file)
    if isinstance(node, dict):
        return {
            key: _substitute(value, _join(key_path, str(key)), environ, file) for key, value in node.items()
        }
    if isinstance(node, list):
        return [_substitute(value, _join(key_path, index), environ, file) for index, value in enumerate(node)]
    return node


def _loc_path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        path = _join(path, part)
    return path


def _refine(path: str, relative: str) -> str:
    if not relative:
        return path
    if not path or relative.startswith("["):
        return path + relative
    return f"{path}.{relative}"


def _unwrap(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def _keys_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed in the mapping at ``loc`` (for "did you mean" on a misspelt key)."""
    current: Any = BridgeConfig
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            if get_origin(current) is not list:
                return []
            current = get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel) and part in _field_keys(current):
            current = _field_keys(current)[part]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(_field_keys(current))
    return []


def _field_keys(model: type[BaseModel]) -> dict[str, Any]:
    """YAML key → annotation (the YAML key is the alias where there is one)."""
    return {field.alias or name: field.annotation for name, field in model.model_fields.items()}


def _describe(error: Any) -> tuple[str, str]:
    """(key path, reason) of one pydantic error, without its input value."""
    loc: tuple[str | int, ...] = tuple(error["loc"])
    path = _loc_path(loc)
    kind = error["type"]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigValueError):
        return _refine(path, cause.path), cause.reason
    if kind in ("value_error", "assertion_error") and cause is not None:
        return path, str(cause)
    if kind == "extra_forbidden":
        allowed = _keys_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1) if allowed else []
        if close:
            return path, f"unknown key (did you mean {close[0]!r}?)"
        return path, "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return path, "required key is missing"
    message = str(error["msg"])
    return path, message[:1].lower() + message[1:]


def _validation_to_config_error(file: str, error: ValidationError) -> ConfigError:
    """One ConfigError from the first pydantic error, saying how many more there are."""
    errors = error.errors(include_url=False, include_input=False)
    key_path, reason = _describe(errors[0])
    more = len(errors) - 1
    if more:
        reason += f" (and {more} more error{'s' if more > 1 else ''})"
    return ConfigError(file, key_path, reason)


def _read_yaml(file: str, path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(file, "", "is a directory, not a file") from None
    except UnicodeDecodeError:
        raise ConfigError(file, "", "not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(file, "", f"cannot read: {error.strerror}") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 -- _Loader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = ", ".join(part for part in (error.context, error.problem) if part)
        raise ConfigError(file, "", f"not valid YAML{where}: {what}") from None
    except yaml.YAMLError as error:
        raise ConfigError(file, "", f"not valid YAML: {type(error).__name__}") from None


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None) -> BridgeConfig:
    """Read, substitute and validate a configuration file; raise one :class:`ConfigError` if invalid.

    ``environ`` defaults to ``os.environ``; relative paths in the file resolve against its directory.
    """
    file = str(path)
    absolute = Path(path).expanduser().resolve()
    data = _read_yaml(file, absolute)
    if data is None:
        raise ConfigError(file, "", "the file is empty")
    if not isinstance(data, dict):
        raise ConfigError(file, "", f"the top level must be a mapping of keys, not a {type(data).__name__}")
    data = _substitute(data, "", os.environ if environ is None else environ, file)
    try:
        config = BridgeConfig.model_validate(data, context={"base_dir": absolute.parent})
    except ValidationError as error:
        raise _validation_to_config_error(file, error) from None
    config._config_path = absolute
    return config


__all__ = [
    "OPERATOR_ID_PATTERN",
    "PROVIDER_ID_PATTERN",
    "BridgeConfig",
    "ConfigValueError",
    "CpoConfig",
    "CpoPartyConfig",
    "DeliveryConfig",
    "EmspConfig",
    "EvseDataConfig",
    "HubjectConfig",
    "HubjectServerDeadlines",
    "HubjectTimeouts",
    "HubjectTls",
    "ListenConfig",
    "LoggingConfig",
    "OcpiConfig",
    "OcpiParty",
    "OcpiTimeouts",
    "PartnerConfig",
    "RetryConfig",
    "load_config",
    "mask_url",
]
