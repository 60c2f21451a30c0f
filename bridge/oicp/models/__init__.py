"""OICP 2.3 protocol models (Hubject), both CPO and EMP side.

One module per object family; every public name is re-exported here. See
:mod:`bridge.oicp.models.common` for the conventions (aliases, ingress tolerant / egress strict,
date/times keeping their offset) and oicp-2.3.md for the spec.
"""

from bridge.oicp.models.authentication_data import *  # noqa: F403
from bridge.oicp.models.authentication_data import __all__ as _authentication_data
from bridge.oicp.models.authorization import *  # noqa: F403
from bridge.oicp.models.authorization import __all__ as _authorization
from bridge.oicp.models.cdr import *  # noqa: F403
from bridge.oicp.models.cdr import __all__ as _cdr
from bridge.oicp.models.common import *  # noqa: F403
from bridge.oicp.models.common import __all__ as _common
from bridge.oicp.models.evse_data import *  # noqa: F403
from bridge.oicp.models.evse_data import __all__ as _evse_data
from bridge.oicp.models.evse_status import *  # noqa: F403
from bridge.oicp.models.evse_status import __all__ as _evse_status
from bridge.oicp.models.identification import *  # noqa: F403
from bridge.oicp.models.identification import __all__ as _identification
from bridge.oicp.models.ids import *  # noqa: F403
from bridge.oicp.models.ids import __all__ as _ids
from bridge.oicp.models.notifications import *  # noqa: F403
from bridge.oicp.models.notifications import __all__ as _notifications
from bridge.oicp.models.pricing import *  # noqa: F403
from bridge.oicp.models.pricing import __all__ as _pricing
from bridge.oicp.models.remote import *  # noqa: F403
from bridge.oicp.models.remote import __all__ as _remote
from bridge.oicp.models.reservation import *  # noqa: F403
from bridge.oicp.models.reservation import __all__ as _reservation

__all__ = [
    *_authentication_data,
    *_authorization,
    *_cdr,
    *_common,
    *_evse_data,
    *_evse_status,
    *_identification,
    *_ids,
    *_notifications,
    *_pricing,
    *_remote,
    *_reservation,
]
