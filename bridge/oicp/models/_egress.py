"""The egress-strictness switch shared by :mod:`.common` and :mod:`.ids` (no imports of ours).

Ingress is tolerant, egress is strict (CONTRIBUTING.md): formats are checked when a model is
serialized, unless the caller passes the lenient serialization context (data being stored or
logged as received rather than sent).
"""

from __future__ import annotations

from pydantic import SerializationInfo

#: Serialization context key that turns the egress checks off (see ``common.to_json``).
LENIENT_CONTEXT_KEY = "oicp_lenient_egress"


class OicpEgressError(ValueError):
    """A model cannot be sent: an ID does not match its OICP format or a mandatory field is unset."""


def is_lenient(info: SerializationInfo) -> bool:
    """True when the caller serializes received data for storage/logging (no egress checks)."""
    context = info.context
    return isinstance(context, dict) and bool(context.get(LENIENT_CONTEXT_KEY))
