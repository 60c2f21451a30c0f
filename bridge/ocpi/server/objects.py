"""The generic OCPI object service: what every functional module does with Client Owned Objects.

One place for the rules of ocpi.md §3.3 and §3.6 that do not depend on the module:

* **Storage is always OCPI 2.2.1 JSON** (ocpi.md §5: "internally, model 2.2.1 (the superset) and
  down-convert for 2.1.1 peers"). An object from a 2.1.1 partner is converted up on ingress, its
  owner (country_code/party_id, which 2.1.1 objects lack) taken from the caller's credentials role;
  an object served to a 2.1.1 partner is converted down on egress. Whatever a conversion loses or
  defaults is logged once per object (logger ``bridge.ocpi.convert``; ids of token objects are
  hashed, credentials tokens never appear).
* **PUT** replaces the whole object (201 created / 200 replaced is the caller's to answer from
  :attr:`PutResult.created`). A PUT identical to what is stored writes nothing and bumps nothing
  (ocpi.md §8 point 6, ocpi#428).
* **PATCH** is a merge (:func:`bridge.ocpi.models.patch.apply_patch`: scalars replace, objects
  merge, arrays replace, ``null`` is a no-op); a merge that changes nothing writes nothing.
* **Children** (a Location's EVSEs and Connectors) are written inside their root object, addressed
  by a path of :class:`ChildStep` (ids compared case-insensitively, OCPI CiString). A child PUT or
  PATCH sets the ``last_updated`` of every ancestor (EVSE → Location; Connector → EVSE and Location)
  to the child's ``last_updated`` when that is newer (ocpi.md §3.6 "last_updated propagation";
  §8 point 6). An ancestor never goes back in time: delta pulls with ``date_from`` would miss it.
* **Sender lists** (:meth:`ObjectService.list_for`) are paginated in creation order (store ``seq``,
  ocpi.md §3.3) with ``date_from`` inclusive and ``date_to`` exclusive on ``last_updated``. They
  serve every stored object of the kind **except those the caller owns itself** (the gateway relays
  what it owns and what other partners pushed), and to 2.1.1 callers **not** the objects 2.1.1
  cannot carry (``publish=false`` Locations, ocpi.md §5; see :attr:`ObjectKind.hidden_211`).
  Offsets and ``X-Total-Count`` count exactly the objects served, so every object of a crawl is
  seen once.

Write paths take a per-object advisory lock (a stripe of the store's durable counters, which both
backends lock row-wise until commit), so that concurrent read-modify-writes of one Location (two
EVSE status PATCHes at once) cannot lose an update on PostgreSQL (READ COMMITTED). Every write
goes through :meth:`ObjectService.put`, :meth:`~ObjectService.put_child`,
:meth:`~ObjectService.patch` or :meth:`~ObjectService.delete`; code that writes OCPI objects
directly with ``store.put_object`` bypasses the 2.1.1 visibility index and the id index below.

Two derived records are kept in the same transaction as each write:

* a **2.1.1 visibility marker**: an object of kind ``"<kind>#hidden-2.1.1"`` with the same key,
  ``last_updated`` and partner, whose data is ``{"seq": <seq of the object>}``, exists exactly while
  the object must not be served to 2.1.1 partners. The list query excludes those seqs without
  reading the objects themselves (see :meth:`ObjectService._page_excluding`).
* an **id index** (kinds with :attr:`ObjectKind.index_ids`): correlation
  ``("ocpi.owners.<kind>", OBJECT_ID)`` listing the owners of objects with that id, for the Sender
  interfaces that address objects by id alone (``GET {locations_url}/{location_id}``).

Listeners (:meth:`ObjectService.subscribe`) run inside the transaction of every real change, so a
flow can queue its outgoing messages atomically with the object (architecture.md "Data flow").
"""

from __future__ import annotations

import copy
import hashlib
import logging
import zlib
from bisect import bisect_left
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import orjson
from cachetools import LRUCache
from pydantic import BaseModel

from bridge.errors import InvalidJson, InvalidParameters, MappingError, NotFound, OcpiError
from bridge.ocpi.models.common import parse_datetime, to_json, to_jsonable
from bridge.ocpi.models.patch import apply_patch, validate_patch
from bridge.ocpi.server.common import caller_parties
from mappings.ocpi_versions import patch_up
from mappings.rules import RuleSet

if TYPE_CHECKING:
    from starlette.requests import Request

    from bridge.config import BridgeConfig
    from bridge.context import Gateway
    from bridge.ocpi.server.auth import Caller
    from bridge.ocpi.server.common import PageParams
    from bridge.store.base import DataApi, Store, StoredObject
    from mappings.ocpi_versions import TokenLookup
    from mappings.result import Loss, Translation

log = logging.getLogger("bridge.ocpi.convert")

Owner = tuple[str, str]
"""An object's owner: (country_code, party_id), compared case-insensitively (CiString)."""

HIDDEN_SUFFIX: Final = "#hidden-2.1.1"
OWNER_INDEX_PREFIX: Final = "ocpi.owners."
LOCK_PREFIX: Final = "ocpi.objects.lock."
LOCK_STRIPES: Final = 64
_SCAN_PAGE: Final = 1000
SERVICE_NAME: Final = "ocpi_objects"
"""Key of the service in ``Gateway.services``."""


# --------------------------------------------------------------------------------------------
# Describing a kind of object


@dataclass(frozen=True, slots=True)
class ConvertContext:
    """What a version conversion may need besides the object: the owner of the object, the
    partner it comes from or goes to, the mapping rules, the configuration, and ``data`` (the store
    or the open transaction) for lookups such as cached Tokens or Tariffs."""

    data: DataApi
    owner: Owner
    partner: str | None
    rules: RuleSet
    config: BridgeConfig


Converter = Callable[[Any, ConvertContext], Awaitable["Translation[Any]"]]
"""``async (source model, context) -> Translation[target model]``; raises MappingError."""


@dataclass(frozen=True, slots=True)
class ObjectKind:
    """One kind of Client Owned Object (a module's root object) and how it crosses versions.

    ``name`` is the store kind (``"locations"``); ``model`` the 2.2.1 class stored; ``model_211``,
    ``up`` and ``down`` the 2.1.1 class and the conversions (ocpi.md §5). ``hidden_211`` says, from
    the stored 2.2.1 JSON, that an object must not be served to 2.1.1 partners (``publish=false``).
    ``index_ids`` keeps the id index for :meth:`ObjectService.find`; ``sensitive_ids`` hashes ids
    in logs (Token uids). ``label`` names the object in messages.
    """

    name: str
    model: type[BaseModel]
    label: str
    model_211: type[BaseModel] | None = None
    up: Converter | None = None
    down: Converter | None = None
    hidden_211: Callable[[Mapping[str, Any]], bool] | None = None
    index_ids: bool = False
    sensitive_ids: bool = False

    @property
    def hidden_kind(self) -> str:
        return self.name + HIDDEN_SUFFIX

    @property
    def owner_index_kind(self) -> str:
        return OWNER_INDEX_PREFIX + self.name


@dataclass(frozen=True, slots=True)
class ChildStep:
    """One step from an object to a child: the list ``field``, the child's ``id_field`` and ``id``
    (``ChildStep("evses", "uid", "3256")``, then ``ChildStep("connectors", "id", "1")``)."""

    field: str
    id_field: str
    id: str
    label: str = "object"


ChildPath = tuple[ChildStep, ...]


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """A real change, given to listeners inside its transaction. ``after`` is None on delete;
    ``path`` names the child that was written (empty for the root object)."""

    kind: ObjectKind
    owner: Owner
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    partner: str | None
    path: ChildPath = ()


Listener = Callable[["DataApi", ObjectChange], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PutResult:
    """``created``: the addressed object (root or child) did not exist; ``changed``: something was
    written; ``data``: the stored root object (2.2.1 JSON) after the operation."""

    created: bool
    changed: bool
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a Sender list: items already serialized for the caller, and the total."""

    items: list[bytes]
    total: int


# --------------------------------------------------------------------------------------------
# JSON helpers for children


def _same_id(left: Any, right: str) -> bool:
    return isinstance(left, str) and left.upper() == right.upper()


def _child_index(items: Sequence[Mapping[str, Any]], step: ChildStep) -> int | None:
    for index, item in enumerate(items):
        if _same_id(item.get(step.id_field), step.id):
            return index
    return None


def child_of(root: Mapping[str, Any], path: ChildPath) -> dict[str, Any] | None:
    """The child at ``path`` in a stored root object (ids case-insensitive), or None."""
    node: Any = root
    for step in path:
        items = node.get(step.field) or []
        index = _child_index(items, step)
        if index is None:
            return None
        node = items[index]
    return dict(node)


def _later(candidate: Any, current: Any) -> bool:
    """Whether DateTime string ``candidate`` is later than ``current`` (a missing one is older)."""
    if not isinstance(candidate, str):
        return False
    if not isinstance(current, str):
        return True
    return parse_datetime(candidate) > parse_datetime(current)


def _propagate(ancestors: Sequence[dict[str, Any]], child_last_updated: Any) -> None:
    """ocpi.md §3.6: a child change updates every ancestor's ``last_updated`` (never backwards)."""
    for ancestor in ancestors:
        if _later(child_last_updated, ancestor.get("last_updated")):
            ancestor["last_updated"] = child_last_updated


def _walk(
    root: dict[str, Any], path: ChildPath
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int | None]:
    """Follow ``path`` but its last step: (ancestors root first, the last step's list, its index).

    A missing intermediate child raises NotFound naming it.
    """
    ancestors = [root]
    node = root
    for step in path[:-1]:
        items = node.get(step.field) or []
        index = _child_index(items, step)
        if index is None:
            raise NotFound(f"Unknown {step.label} {step.id}")
        node = items[index]
        ancestors.append(node)
    last = path[-1]
    if not isinstance(node.get(last.field), list):
        node[last.field] = []
    items = node[last.field]
    return ancestors, items, _child_index(items, last)


# --------------------------------------------------------------------------------------------
# The service


class ObjectService:
    """Store + version conversion + last_updated propagation + ownership-aware lists.

    Every method that takes ``tx`` runs in that open transaction when given, else in its own.
    """

    def __init__(self, store: Store, config: BridgeConfig, rules: RuleSet | None = None) -> None:
        self.store = store
        self.config = config
        self._rules = rules
        self._listeners: list[Listener] = []
        self._logged: LRUCache[tuple[str, ...], bool] = LRUCache(maxsize=20_000)

    @property
    def rules(self) -> RuleSet:
        """The mapping rules (``config.mappings``), read once on first use."""
        if self._rules is None:
            from bridge.mapping_config import load_mappings

            self._rules = load_mappings(self.config.mappings)
        return self._rules

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(tx, change)`` inside the transaction of every real change."""
        self._listeners.append(listener)

    @asynccontextmanager
    async def _data(self, tx: DataApi | None) -> AsyncIterator[DataApi]:
        if tx is not None:
            yield tx
            return
        async with self.store.transaction() as opened:
            yield opened

    def context(self, data: DataApi | None, owner: Owner, partner: str | None) -> ConvertContext:
        return ConvertContext(data or self.store, owner, partner, self.rules, self.config)

    # ---- version conversion -----------------------------------------------------------------

    def _shown_id(self, kind: ObjectKind, object_id: str) -> str:
        if kind.sensitive_ids:
            return "sha256:" + hashlib.sha256(object_id.encode("utf-8")).hexdigest()[:12]
        return object_id

    def note_losses(
        self,
        kind: ObjectKind,
        owner: Owner,
        object_id: str,
        direction: str,
        partner: str | None,
        losses: Sequence[Loss],
        *,
        once_key: tuple[str, ...] | None = None,
    ) -> None:
        """Log what a conversion lost or defaulted, one record per object (``once_key``: once per
        process for that key, e.g. an object version served to 2.1.1 peers again and again)."""
        if not losses:
            return
        if once_key is not None:
            if once_key in self._logged:
                return
            self._logged[once_key] = True
        log.info(
            "%s %s/%s/%s %s partner %s: %s",
            kind.label,
            owner[0],
            owner[1],
            self._shown_id(kind, object_id),
            direction,
            partner or "-",
            "; ".join(str(loss) for loss in losses),
        )

    async def up(
        self,
        kind: ObjectKind,
        source: BaseModel,
        *,
        owner: Owner,
        partner: str | None,
        tx: DataApi | None = None,
    ) -> BaseModel:
        """A 2.1.1 object received from ``partner`` as the 2.2.1 object to store; the owner fields
        come from ``owner`` (the caller's credentials role). Losses are logged once."""
        if kind.up is None:
            raise MappingError(kind.name, "no OCPI 2.1.1 translation for this object")
        translation = await kind.up(source, self.context(tx, owner, partner))
        object_id = str(getattr(source, "id", "") or "")
        self.note_losses(kind, owner, object_id, "from 2.1.1", partner, translation.losses)
        value: BaseModel = translation.value
        return value

    async def down(
        self,
        kind: ObjectKind,
        model: BaseModel,
        *,
        owner: Owner,
        partner: str | None,
        tx: DataApi | None = None,
    ) -> BaseModel:
        """A stored 2.2.1 object as the 2.1.1 object for ``partner``; raises MappingError when it
        cannot be expressed. Losses are logged once per object version."""
        if kind.down is None:
            raise MappingError(kind.name, "no OCPI 2.1.1 translation for this object")
        translation = await kind.down(model, self.context(tx, owner, partner))
        object_id = str(getattr(model, "id", "") or "")
        last_updated = str(getattr(model, "last_updated", ""))
        self.note_losses(
            kind, owner, object_id, "to 2.1.1", partner, translation.losses,
            once_key=("down", kind.name, owner[0].upper(), owner[1].upper(), object_id.upper(), last_updated),
        )
        value: BaseModel = translation.value
        return value

    async def serialize(
        self,
        kind: ObjectKind,
        stored: StoredObject,
        version: str,
        *,
        partner: str | None,
        tx: DataApi | None = None,
    ) -> bytes | None:
        """Wire JSON of a stored object for a caller of ``version``; None when 2.1.1 cannot carry it
        (logged). 2.2.1 objects are sent as stored, without re-validation."""
        if version != "2.1.1":
            return orjson.dumps(stored.data)
        owner = (stored.country_code, stored.party_id)
        try:
            model = kind.model.model_validate(stored.data)
            return to_json(await self.down(kind, model, owner=owner, partner=partner, tx=tx))
        except MappingError as error:
            log.info(
                "%s %s/%s/%s not served to 2.1.1 partner %s: %s", kind.label, owner[0], owner[1],
                self._shown_id(kind, stored.object_id), partner or "-", error,
            )
            return None

    def patch_values(
        self,
        kind: ObjectKind,
        version: str,
        body: Mapping[str, Any],
        *,
        model: type[BaseModel],
        model_211: type[BaseModel],
        owner: Owner,
        object_id: str,
        partner: str | None,
        now: datetime,
        require_last_updated: bool = True,
        token_lookup: TokenLookup | None = None,
    ) -> dict[str, Any]:
        """A PATCH body of ``version`` as validated 2.2.1 values for :meth:`patch`.

        2.2.1 (ocpi.md §3.6): every field is validated against ``model``; ``last_updated`` is
        required when ``require_last_updated`` (Locations, Sessions, Tokens; 2001 otherwise,
        ocpi#355). 2.1.1: the body is validated against ``model_211`` and translated field by
        field (``patch_up``, losses logged); 2.1.1 does not require ``last_updated``, so a PATCH
        without it is stamped with ``now``, the time of receipt.
        """
        if version != "2.1.1":
            return validate_patch(model, body, require_last_updated=require_last_updated)
        translation = patch_up(
            model_211, body, country_code=owner[0], party_id=owner[1], token_lookup=token_lookup
        )
        self.note_losses(kind, owner, object_id, "PATCH from 2.1.1", partner, translation.losses)
        values = validate_patch(model, translation.value, require_last_updated=False)
        values.setdefault("last_updated", now)
        return values

    # ---- reads ------------------------------------------------------------------------------

    async def get(
        self, kind: ObjectKind, owner: Owner, object_id: str, *, tx: DataApi | None = None
    ) -> StoredObject | None:
        """The stored object (2.2.1 JSON), ids compared case-insensitively, or None."""
        async with self._data(tx) as data:
            return await data.get_object(kind.name, owner[0], owner[1], object_id)

    async def get_model(
        self, kind: ObjectKind, owner: Owner, object_id: str, *, tx: DataApi | None = None
    ) -> BaseModel | None:
        """The stored object as its 2.2.1 model, or None."""
        stored = await self.get(kind, owner, object_id, tx=tx)
        return None if stored is None else kind.model.model_validate(stored.data)

    async def find(
        self,
        kind: ObjectKind,
        object_id: str,
        *,
        owner: Owner | None = None,
        exclude: Sequence[Owner] = (),
        prefer: Sequence[Owner] = (),
        tx: DataApi | None = None,
    ) -> StoredObject | None:
        """An object addressed by id alone (Sender interfaces, e.g. ``GET {locations_url}/{id}``).

        ``owner`` (from 2.2.1 ``OCPI-to-*`` routing headers, ocpi.md §3.5) decides when given.
        Otherwise the id index (kinds with ``index_ids``) names the candidates, then ``prefer``
        (the gateway's own parties): among several owners of the same id, a preferred owner wins,
        then the oldest object (logged: the caller should address the owner with routing headers).
        Owners in ``exclude`` (the caller's own parties) are never returned.
        """
        excluded = {(cc.upper(), pid.upper()) for cc, pid in exclude}
        async with self._data(tx) as data:
            if owner is not None:
                if (owner[0].upper(), owner[1].upper()) in excluded:
                    return None
                return await data.get_object(kind.name, owner[0], owner[1], object_id)
            candidates: list[Owner] = []
            if kind.index_ids:
                index = await data.get_correlation(kind.owner_index_kind, object_id.upper())
                if index is not None and index.data:
                    candidates = [(str(cc), str(pid)) for cc, pid in index.data.get("owners", [])]
            for extra in prefer:
                if extra not in candidates:
                    candidates.append(extra)
            found: list[StoredObject] = []
            for cc, pid in candidates:
                if (cc.upper(), pid.upper()) in excluded:
                    continue
                stored = await data.get_object(kind.name, cc, pid, object_id)
                if stored is not None and all(s.seq != stored.seq for s in found):
                    found.append(stored)
            if not found:
                return None
            preferred = {(cc.upper(), pid.upper()) for cc, pid in prefer}
            found.sort(key=lambda s: ((s.country_code.upper(), s.party_id.upper()) not in preferred, s.seq))
            if len(found) > 1:
                log.warning(
                    "%s id %s is owned by %d parties; serving %s/%s (address the owner with routing headers)",
                    kind.label, self._shown_id(kind, object_id), len(found), found[0].country_code,
                    found[0].party_id,
                )
            return found[0]

    # ---- writes -----------------------------------------------------------------------------

    async def lock(self, data: DataApi, kind: ObjectKind, owner: Owner, object_id: str) -> None:
        """Serialize read-modify-writes of one object inside the open transaction ``data``
        (PostgreSQL READ COMMITTED would lose one of two concurrent updates): bump a durable
        counter of the object's stripe, whose row stays locked until commit. Every write method
        takes it; a flow doing its own read-modify-write of an object in a transaction takes it
        first."""
        key = f"{owner[0]}/{owner[1]}/{object_id}".upper().encode("utf-8")
        await data.next_sequence(f"{LOCK_PREFIX}{kind.name}.{zlib.crc32(key) % LOCK_STRIPES}")

    _lock = lock

    async def put(
        self,
        kind: ObjectKind,
        owner: Owner,
        object_id: str,
        model: BaseModel,
        *,
        partner: str | None,
        tx: DataApi | None = None,
    ) -> PutResult:
        """Create or replace a whole object (ocpi.md §3.6 PUT). Identical content writes nothing."""
        new = to_jsonable(model)
        async with self._data(tx) as data:
            await self._lock(data, kind, owner, object_id)
            existing = await data.get_object(kind.name, owner[0], owner[1], object_id)
            if existing is not None and existing.data == new:
                return PutResult(created=False, changed=False, data=existing.data)
            return await self._write(data, kind, owner, object_id, new, existing, partner, ())

    async def put_child(
        self,
        kind: ObjectKind,
        owner: Owner,
        object_id: str,
        path: ChildPath,
        child: BaseModel,
        *,
        partner: str | None,
        root_missing: OcpiError | None = None,
        tx: DataApi | None = None,
    ) -> PutResult:
        """Create or replace the child at ``path`` (an EVSE, a Connector) inside its root object and
        propagate its ``last_updated`` to every ancestor (ocpi.md §3.6).

        A missing root raises ``root_missing`` (default NotFound); a missing intermediate child
        (the EVSE of a Connector PUT) raises NotFound: a child cannot be made without its parent.
        ``created`` tells whether the child itself was new. An identical child writes nothing.
        """
        if not path:
            raise ValueError("put_child needs a path; use put for the root object")
        new_child = to_jsonable(child)
        async with self._data(tx) as data:
            await self._lock(data, kind, owner, object_id)
            existing = await data.get_object(kind.name, owner[0], owner[1], object_id)
            if existing is None:
                raise root_missing or NotFound(f"Unknown {kind.label} {object_id}")
            root = copy.deepcopy(existing.data)
            ancestors, items, index = _walk(root, path)
            if index is not None and items[index] == new_child:
                return PutResult(created=False, changed=False, data=existing.data)
            if index is None:
                items.append(new_child)
            else:
                items[index] = new_child
            _propagate(ancestors, new_child.get("last_updated"))
            result = await self._write(data, kind, owner, object_id, root, existing, partner, path)
            return PutResult(created=index is None, changed=True, data=result.data)

    async def patch(
        self,
        kind: ObjectKind,
        owner: Owner,
        object_id: str,
        values: Mapping[str, Any],
        *,
        partner: str | None,
        path: ChildPath = (),
        model: type[BaseModel] | None = None,
        root_missing: OcpiError | None = None,
        tx: DataApi | None = None,
    ) -> PutResult:
        """Merge validated PATCH ``values`` (:func:`~bridge.ocpi.models.patch.validate_patch`) into
        the object, or into the child at ``path`` (of class ``model``), and store the full result.

        ocpi.md §3.6: a merge (it cannot remove anything); a child's new ``last_updated`` goes to
        its ancestors. A missing root raises ``root_missing`` (default NotFound), a missing child
        NotFound. A merge that changes nothing writes nothing. Callers enforce the version rules
        (2.2.1 requires ``last_updated``; 2.1.1 may omit it: pass the time of receipt).
        """
        async with self._data(tx) as data:
            await self._lock(data, kind, owner, object_id)
            existing = await data.get_object(kind.name, owner[0], owner[1], object_id)
            if existing is None:
                raise root_missing or NotFound(f"Unknown {kind.label} {object_id}")
            root = copy.deepcopy(existing.data)
            cls = model or kind.model
            if not path:
                merged = to_jsonable(apply_patch(cls.model_validate(root), values))
                if merged == existing.data:
                    return PutResult(created=False, changed=False, data=existing.data)
                return await self._write(data, kind, owner, object_id, merged, existing, partner, ())
            ancestors, items, index = _walk(root, path)
            if index is None:
                raise NotFound(f"Unknown {path[-1].label} {path[-1].id}")
            merged = to_jsonable(apply_patch(cls.model_validate(items[index]), values))
            if merged == items[index]:
                return PutResult(created=False, changed=False, data=existing.data)
            items[index] = merged
            _propagate(ancestors, merged.get("last_updated"))
            return await self._write(data, kind, owner, object_id, root, existing, partner, path)

    async def delete(
        self,
        kind: ObjectKind,
        owner: Owner,
        object_id: str,
        *,
        partner: str | None,
        tx: DataApi | None = None,
    ) -> bool:
        """Delete an object (Tariffs only: Locations are never deleted, ocpi.md §3.6); True if it
        existed."""
        async with self._data(tx) as data:
            await self._lock(data, kind, owner, object_id)
            existing = await data.get_object(kind.name, owner[0], owner[1], object_id)
            if existing is None:
                return False
            await data.delete_object(kind.name, owner[0], owner[1], object_id)
            if kind.hidden_211 is not None:
                await data.delete_object(kind.hidden_kind, owner[0], owner[1], object_id)
            if kind.index_ids:
                await self._unindex(data, kind, existing)
            change = ObjectChange(kind, (existing.country_code, existing.party_id), existing.object_id,
                                  existing.data, None, partner)
            for listener in self._listeners:
                await listener(data, change)
            return True

    async def _write(
        self,
        data: DataApi,
        kind: ObjectKind,
        owner: Owner,
        object_id: str,
        root: dict[str, Any],
        existing: StoredObject | None,
        partner: str | None,
        path: ChildPath,
    ) -> PutResult:
        """Store ``root`` with its derived records and tell the listeners, in ``data``'s transaction."""
        if existing is not None:  # keep the ids as first received; the store compares them ignoring case
            owner, object_id = (existing.country_code, existing.party_id), existing.object_id
        last_updated: datetime = parse_datetime(str(root["last_updated"]))
        created = await data.put_object(
            kind.name, owner[0], owner[1], object_id, root, last_updated, partner=partner
        )
        if kind.hidden_211 is not None:
            if kind.hidden_211(root):
                seq = existing.seq if existing is not None else await self._seq(data, kind, owner, object_id)
                marker = {"seq": seq}
                await data.put_object(
                    kind.hidden_kind, owner[0], owner[1], object_id, marker, last_updated, partner=partner
                )
            elif existing is None or kind.hidden_211(existing.data):
                await data.delete_object(kind.hidden_kind, owner[0], owner[1], object_id)
        if created and kind.index_ids:
            await self._index(data, kind, owner, object_id)
        before = existing.data if existing is not None else None
        change = ObjectChange(kind, owner, object_id, before, root, partner, path)
        for listener in self._listeners:
            await listener(data, change)
        return PutResult(created=created, changed=True, data=root)

    async def _seq(self, data: DataApi, kind: ObjectKind, owner: Owner, object_id: str) -> int:
        stored = await data.get_object(kind.name, owner[0], owner[1], object_id)
        if stored is None:  # written a statement ago in this transaction
            raise RuntimeError(f"{kind.name} {object_id} vanished inside its own transaction")
        return stored.seq

    async def _index(self, data: DataApi, kind: ObjectKind, owner: Owner, object_id: str) -> None:
        key = object_id.upper()
        index = await data.get_correlation(kind.owner_index_kind, key)
        owners: list[list[str]] = list(index.data.get("owners", [])) if index and index.data else []
        if all((cc.upper(), pid.upper()) != (owner[0].upper(), owner[1].upper()) for cc, pid in owners):
            owners.append([owner[0], owner[1]])
        await self._save_index(data, kind, key, owners)

    async def _unindex(self, data: DataApi, kind: ObjectKind, stored: StoredObject) -> None:
        key = stored.object_id.upper()
        index = await data.get_correlation(kind.owner_index_kind, key)
        if index is None or not index.data:
            return
        gone = (stored.country_code.upper(), stored.party_id.upper())
        owners = [pair for pair in index.data.get("owners", []) if (pair[0].upper(), pair[1].upper()) != gone]
        if owners:
            await self._save_index(data, kind, key, owners)
        else:
            await data.delete_correlation(kind.owner_index_kind, key)

    @staticmethod
    async def _save_index(data: DataApi, kind: ObjectKind, key: str, owners: list[list[str]]) -> None:
        first = f"{owners[0][0]}/{owners[0][1]}"
        await data.put_correlation(kind.owner_index_kind, key, first, {"owners": owners})

    # ---- Sender lists (ocpi.md §3.3) --------------------------------------------------------

    async def list_for(
        self,
        caller: Caller,
        kind: ObjectKind,
        params: PageParams,
        *,
        version: str,
        include_owners: Sequence[Owner] | None = None,
        partner: str | None = None,
    ) -> Page:
        """One page of a Sender list for ``caller`` speaking ``version``, serialized for it.

        Served: every stored object of ``kind`` (only those of ``include_owners`` / stored from
        ``partner`` when given) except the caller's own (its credentials roles), and for 2.1.1
        callers except the objects hidden from 2.1.1 (:attr:`ObjectKind.hidden_211`). Offsets and
        the total count the served objects only, in creation order.
        """
        own = sorted({party.key() for party in caller_parties(caller)})
        if include_owners is not None:
            wanted = {(cc.upper(), pid.upper()) for cc, pid in include_owners}
            own = [pair for pair in own if pair in wanted]
        filters: dict[str, Any] = {
            "owners": include_owners,
            "partner": partner,
            "date_from": params.date_from,
            "date_to": params.date_to,
        }
        async with self.store.transaction() as tx:
            excluded: set[int] = set()
            if own:
                excluded |= await self._seqs(tx, kind.name, {**filters, "owners": own}, marker=False)
            if version == "2.1.1" and kind.hidden_211 is not None:
                excluded |= await self._seqs(tx, kind.hidden_kind, filters, marker=True)
            stored, total = await self._page_excluding(
                tx, kind.name, sorted(excluded), filters, params.offset, params.limit
            )
            items: list[bytes] = []
            for obj in stored:
                body = await self.serialize(kind, obj, version, partner=caller.partner.name, tx=tx)
                if body is not None:
                    items.append(body)
        return Page(items=items, total=total)

    @staticmethod
    async def _seqs(tx: DataApi, kind: str, filters: Mapping[str, Any], *, marker: bool) -> set[int]:
        """The seqs of every object of ``kind`` matching ``filters`` (markers hold the seq in data)."""
        seqs: set[int] = set()
        offset = 0
        while True:
            page, _ = await tx.list_objects(kind, offset=offset, limit=_SCAN_PAGE, **filters)
            seqs.update(int(obj.data["seq"]) if marker else obj.seq for obj in page)
            if len(page) < _SCAN_PAGE:
                return seqs
            offset += len(page)

    @staticmethod
    async def _page_excluding(
        tx: DataApi, kind: str, excluded: list[int], filters: Mapping[str, Any], offset: int, limit: int
    ) -> tuple[list[StoredObject], int]:
        """Page ``[offset, offset+limit)`` of the sequence S minus X, where S is the store's ordered
        list for ``filters`` and X ⊂ S is given by its sorted seqs.

        The store position p of the first served object is the smallest p with
        ``p - |{x in X : x < seq(S[p])}| = offset``; starting from p = offset, the iteration
        ``p = offset + |{x in X : x < seq(S[p])}|`` only moves forward and stops at it after at
        most |X| one-row probes (usually one or two). The page is then read from p, skipping X.
        """
        if not excluded:
            return await tx.list_objects(kind, offset=offset, limit=limit, **filters)
        _, everything = await tx.list_objects(kind, offset=0, limit=0, **filters)
        total = max(0, everything - len(excluded))
        if limit == 0 or offset >= total:
            return [], total
        position = offset
        while True:
            probe, _ = await tx.list_objects(kind, offset=position, limit=1, **filters)
            if not probe:
                return [], total
            wanted = offset + bisect_left(excluded, probe[0].seq)
            if wanted == position:
                break
            position = wanted
        skip = set(excluded)
        items: list[StoredObject] = []
        while len(items) < limit:
            chunk, _ = await tx.list_objects(kind, offset=position, limit=limit, **filters)
            if not chunk:
                break
            items.extend(obj for obj in chunk if obj.seq not in skip)
            position += len(chunk)
        return items[:limit], total


async def read_json_object(request: Request) -> dict[str, Any]:
    """A request body that must be a JSON object (PATCH bodies): bad JSON → HTTP 400, anything
    but an object → 2001 (ocpi.md §2.3)."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as error:
        raise InvalidJson(f"Invalid JSON: {error}") from None
    if not isinstance(body, dict):
        raise InvalidParameters("the body must be a JSON object", field="body")
    return body


def object_service(gateway: Gateway) -> ObjectService:
    """The gateway's ObjectService (made on first use, kept in ``gateway.services``). A start hook
    may put its own there first (e.g. with a preloaded RuleSet) or :meth:`~ObjectService.subscribe`."""
    service = gateway.services.get(SERVICE_NAME)
    if not isinstance(service, ObjectService):
        rules = gateway.services.get("mapping_rules")
        service = ObjectService(
            gateway.store, gateway.config, rules=rules if isinstance(rules, RuleSet) else None
        )
        gateway.services[SERVICE_NAME] = service
    return service


__all__ = [
    "HIDDEN_SUFFIX",
    "OWNER_INDEX_PREFIX",
    "SERVICE_NAME",
    "ChildPath",
    "ChildStep",
    "ConvertContext",
    "Converter",
    "Listener",
    "ObjectChange",
    "ObjectKind",
    "ObjectService",
    "Owner",
    "Page",
    "PutResult",
    "child_of",
    "object_service",
    "read_json_object",
]
