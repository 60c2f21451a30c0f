"""The one exception tree of the gateway.

Every error that can reach a partner carries its wire code, so the transport layer turns any of
them into a response in one place (``bridge.ocpi.server.errors`` for OCPI envelopes,
``bridge.oicp.server`` for OICP acknowledgements) and route bodies need no try/except.

This module sits on the bottom floor with the protocol models: it imports nothing of ours, so
``mappings`` may raise these errors too.

Tree::

    BridgeError
    ├── OcpiError                    OCPI status_code + HTTP status (ocpi.md §2)
    │   ├── OcpiClientError          2000
    │   │   ├── InvalidParameters    2001  (names the field)
    │   │   ├── NotEnoughInformation 2002
    │   │   ├── UnknownLocation      2003
    │   │   └── UnknownToken         2004, HTTP 404 (ocpi#417)
    │   ├── OcpiServerError          3000
    │   │   ├── ClientApiUnusable    3001
    │   │   ├── UnsupportedVersion   3002
    │   │   └── NoMatchingEndpoints  3003
    │   ├── OcpiHubError             4000 (+ 4001 unknown receiver, 4002 timeout, 4003 connection)
    │   ├── Unauthorized             HTTP 401 (missing/unknown token, token A on a module)
    │   ├── NotFound                 HTTP 404
    │   ├── MethodNotAllowed         HTTP 405 (credentials misuse, ocpi.md §1.4)
    │   ├── InvalidJson              HTTP 400
    │   └── PayloadTooLarge          HTTP 413
    ├── OicpError                    OICP StatusCode.Code (oicp-2.3.md §3.3), always HTTP 200
    ├── MappingError                 a translation that cannot be made (field path + reason)
    ├── ConfigError                  invalid configuration (file, key path, reason; exit code 2)
    ├── StoreError                   the store failed or is unreachable
    └── PartnerError                 a partner answered with an error (its code kept)
"""

from __future__ import annotations

from typing import ClassVar


class BridgeError(Exception):
    """Base of every error the gateway raises on purpose."""


# --------------------------------------------------------------------------------------------
# OCPI


class OcpiError(BridgeError):
    """An error answered with an OCPI envelope: ``status_code`` in the body, ``http_status`` on the wire.

    OCPI 2.2.1 transport_and_format: once a request reached the OCPI layer (valid JSON, known
    resource, authenticated caller) errors are HTTP 200 with a 2xxx/3xxx ``status_code``.
    """

    status_code: ClassVar[int] = 3000
    http_status: ClassVar[int] = 200
    default_message: ClassVar[str] = "Generic server error"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.field = field
        self.message = message or self.default_message
        super().__init__(self.message)


class OcpiClientError(OcpiError):
    status_code = 2000
    default_message = "Generic client error"


class InvalidParameters(OcpiClientError):
    """2001: invalid or missing parameters; the message names the field (ocpi.md §2.2)."""

    status_code = 2001
    default_message = "Invalid or missing parameters"


class NotEnoughInformation(OcpiClientError):
    status_code = 2002
    default_message = "Not enough information"


class UnknownLocation(OcpiClientError):
    status_code = 2003
    default_message = "Unknown location"


class UnknownToken(OcpiClientError):
    """2004 with HTTP 404: unknown token on real-time authorization (OCPI 2.2.1, ocpi#417)."""

    status_code = 2004
    http_status = 404
    default_message = "Unknown token"


class OcpiServerError(OcpiError):
    status_code = 3000
    default_message = "Generic server error"


class ClientApiUnusable(OcpiServerError):
    """3001: during registration the callback GETs to the client's versions failed."""

    status_code = 3001
    default_message = "Unable to use the client's API"


class UnsupportedVersion(OcpiServerError):
    status_code = 3002
    default_message = "Unsupported version"


class NoMatchingEndpoints(OcpiServerError):
    status_code = 3003
    default_message = "No matching endpoints or expected endpoints missing"


class OcpiHubError(OcpiError):
    status_code = 4000
    default_message = "Generic hub error"


class UnknownReceiver(OcpiHubError):
    status_code = 4001
    default_message = "Unknown receiver"


class ReceiverTimeout(OcpiHubError):
    status_code = 4002
    default_message = "Timeout on forwarded request"


class ReceiverConnectionProblem(OcpiHubError):
    status_code = 4003
    default_message = "Connection problem: receiver not connected"


class Unauthorized(OcpiError):
    """HTTP 401: missing or unknown credentials token, or token A on a functional module."""

    status_code = 2000
    http_status = 401
    default_message = "Unauthorized"


class NotFound(OcpiError):
    status_code = 2000
    http_status = 404
    default_message = "Not found"


class MethodNotAllowed(OcpiError):
    """HTTP 405: credentials POST when registered, PUT/DELETE when not (ocpi.md §1.4)."""

    status_code = 2000
    http_status = 405
    default_message = "Method not allowed"


class InvalidJson(OcpiError):
    status_code = 2000
    http_status = 400
    default_message = "Invalid JSON"


class PayloadTooLarge(OcpiError):
    status_code = 2000
    http_status = 413
    default_message = "Request body too large"


# --------------------------------------------------------------------------------------------
# OICP


class OicpError(BridgeError):
    """An error answered to Hubject as HTTP 200 with ``Result: false`` and this StatusCode.

    oicp-2.3.md §1.3: a partner always answers HTTP 200 with a well-formed OICP body.
    """

    code: ClassVar[str] = "021"
    default_message: ClassVar[str] = "System error"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code  # type: ignore[misc]
        super().__init__(self.message)


class OicpDataError(OicpError):
    code = "022"
    default_message = "Data error"


class OicpSessionInvalid(OicpError):
    code = "400"
    default_message = "Session is invalid"


class OicpCommunicationFailed(OicpError):
    code = "501"
    default_message = "Communication to EVSE failed"


class OicpUnknownEvse(OicpError):
    code = "603"
    default_message = "Unknown EVSE ID"


class OicpNotHubjectCompatible(OicpError):
    code = "604"
    default_message = "EVSE ID is not Hubject compatible"


# --------------------------------------------------------------------------------------------
# Everything else


class MappingError(BridgeError):
    """A translation that cannot be made: ``path`` names the source field, ``reason`` says why."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class ConfigError(BridgeError):
    """Invalid configuration. The CLI prints ``str(error)`` on one line and exits with code 2."""

    exit_code: ClassVar[int] = 2

    def __init__(self, file: str, key_path: str, reason: str) -> None:
        self.file = file
        self.key_path = key_path
        self.reason = reason
        where = f"{file}: {key_path}" if key_path else file
        super().__init__(f"{where}: {reason}")


class StoreError(BridgeError):
    """The store failed or is unreachable."""


class PartnerError(BridgeError):
    """A partner answered with an error: ``code`` is its OCPI status_code or OICP StatusCode."""

    def __init__(
        self, message: str, *, code: str | int | None = None, http_status: int | None = None
    ) -> None:
        self.code = code
        self.http_status = http_status
        super().__init__(message)
