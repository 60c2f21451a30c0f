"""End to end, the CPO-side charging flow with every party a real uvicorn server on 127.0.0.1: the
Hubject simulator, the gateway (configuration file, SQLite store, outbox delivery and the flow),
the CPO backend simulator (Be Charge, registered with the gateway by the credentials handshake)
and an OCPI eMSP peer (registered too). Servers are stopped and started again on the same port to
play a Hubject outage and a gateway restart. Nothing here asserts a duration; loops only wait for
a condition.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.types import ASGIApp

from bridge.app import create_app
from bridge.config import load_config
from bridge.context import Gateway
from bridge.delivery import delivery_start_hook
from bridge.flows.cpo_charging import CDR_KIND, OCPI_CDR_KIND, OCPI_SESSION_KIND, OICP_CLIENT_SERVICE
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import format_datetime
from bridge.oicp.client import OicpClient
from bridge.oicp.client import RetryPolicy as OicpRetryPolicy
from bridge.oicp.models import normalize_session_id
from bridge.simulators import serve
from bridge.simulators.cpo_backend import CpoBackend, network
from bridge.simulators.hubject import HubjectSimulator
from tests.flows.cpo_charging_support import (
    CPO_TOKEN_A,
    EMSP_TOKEN_A,
    FAST,
    OPERATOR,
    OPERATOR_NAME,
    PROVIDER,
    PeerEmsp,
    World,
    cdr,
    flow_hook,
    make_simulator,
    partners,
    session,
    wait_for,
)
from tests.support.gateway import write_config

UID = "AB12CD34"


def bound(port: int = 0) -> socket.socket:
    """A loopback TCP socket (IPPROTO_TCP: TCP_NODELAY on accepted connections) on ``port``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class Server:
    """One uvicorn server that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.sock = bound()
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._running: AbstractAsyncContextManager[str] | None = None

    async def start(self, app: ASGIApp) -> None:
        sock = self.sock if self.sock.fileno() != -1 else bound(self.port)
        self._running = serve(app, sock=sock)
        await self._running.__aenter__()

    async def stop(self) -> None:
        assert self._running is not None
        running, self._running = self._running, None
        await running.__aexit__(None, None, None)


def fast_oicp(gateway: Gateway) -> AbstractAsyncContextManager[None]:
    """The OICP client from the configuration, with short client-side retry waits."""

    @asynccontextmanager
    async def run() -> AsyncIterator[None]:
        client = OicpClient.from_config(
            gateway.config.hubject, retry_policy=OicpRetryPolicy(attempts=2, initial_wait=0.1, max_wait=0.2)
        )
        gateway.services[OICP_CLIENT_SERVICE] = client
        try:
            yield
        finally:
            await client.aclose()

    return run()


@dataclass
class Live:
    folder: Path
    w: World
    gateway: Server
    hubject: Server

    def app(self, *, hooks: tuple[Callable[[Gateway], Any], ...] = (fast_oicp,)) -> Starlette:
        config = load_config(self.folder / "bridge.yaml")
        return create_app(config, start_hooks=[*hooks, delivery_start_hook(settings=FAST), flow_hook])

    async def restart_gateway(self, **options: Any) -> None:
        await self.gateway.stop()
        self.w.app = self.app(**options)
        await self.gateway.start(self.w.app)


@asynccontextmanager
async def live(tmp_path: Path, *, peer: bool = False) -> AsyncIterator[Live]:
    hubject, gateway, backend_server, peer_server = Server(), Server(), Server(), Server()
    sim: HubjectSimulator = make_simulator()
    write_config(
        tmp_path,
        public_url=gateway.url,
        hubject={"url": hubject.url, "operator_id": OPERATOR, "operator_name": OPERATOR_NAME},
        partners=partners(peer=peer),
    )
    backend = CpoBackend(base_url=backend_server.url)
    party = (
        PeerEmsp(peer_server.url, httpx.AsyncClient(timeout=10.0), gateway_url=gateway.url) if peer else None
    )
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    client = httpx.AsyncClient(base_url=gateway.url)
    state = Live(tmp_path, World(Starlette(), client, sim, backend, party, at), gateway, hubject)
    state.w.app = state.app()
    await hubject.start(sim.app)
    await gateway.start(state.w.app)
    await backend_server.start(backend.app)
    try:
        await backend.register(f"{gateway.url}/ocpi/versions", CPO_TOKEN_A)
        backend.load(network(2, 2, at=at - timedelta(days=1)))
        await backend.push_network()
        if party is not None:
            await peer_server.start(party.party.app)
            await party.party.register(f"{gateway.url}/ocpi/versions", EMSP_TOKEN_A)
        yield state
    finally:
        for server in (peer_server, backend_server, gateway, hubject):
            if server._running is not None:
                await server.stop()
        await backend.aclose()
        await client.aclose()
        if party is not None:
            await party.party.aclose()
        await sim.aclose()


def hubject_calls(w: World, operation: str) -> list[Any]:
    return [e for e in w.sim.exchanges_for(operation) if e.direction == "to_hubject"]


async def authorized(w: World, uid: str = UID, evse: int = 0) -> v221.AuthorizationInfo:
    w.sim.authorize(uid, provider_id=PROVIDER)
    info = await w.backend.authorize(uid, "RFID", w.location.id, [w.evse(evse).uid])
    assert info is not None and info.allowed is v221.AllowedType.ALLOWED and info.authorization_reference
    return info


async def outbox_status(w: World, kind: str, status: str, target: str = "hubject") -> bool:
    return any(m.status == status for m in await w.outbox(target, kind))


async def first_failure(w: World) -> bool:
    return any(m.attempts >= 1 for m in await w.outbox(kind=CDR_KIND))


# --------------------------------------------------------------------------------------------


async def test_rfid_session_from_authorization_to_the_cdr_at_hubject(tmp_path: Path) -> None:
    async with live(tmp_path) as state:
        w = state.w
        info = await authorized(w)
        sid = info.authorization_reference
        assert sid is not None
        await w.backend.push_session(session(w, info, status="ACTIVE"))
        later = format_datetime(w.at + timedelta(minutes=6))
        await w.backend.patch_session("S1", {"kwh": 6.5, "last_updated": later})
        await w.backend.push_session(session(w, info, status="COMPLETED", kwh="41.12", minutes=80))
        await w.backend.post_cdr(cdr(w, info))

        await wait_for(lambda: normalize_session_id(sid) in w.sim.cdrs)
        await wait_for(lambda: len(w.sim.notifications) == 3)

        assert [n["Type"] for n in w.sim.notifications] == ["Start", "Progress", "End"]
        assert all(n["SessionID"] == sid for n in w.sim.notifications)
        record = w.sim.cdrs[normalize_session_id(sid)]
        assert record.operator_id == OPERATOR and record.provider_id == PROVIDER
        assert record.cdr["EvseID"] == w.evse(0).evse_id and record.cdr["SessionID"] == sid
        calls = [*hubject_calls(w, "charging_notification"), *hubject_calls(w, "charge_detail_record")]
        assert [c.status for c in calls] == [200] * 4, "every body passed the official schemas"
        assert all(c.response["Result"] is True for c in calls)

        refused = await w.backend.authorize("0011AABB", "RFID", w.location.id, [w.evse(1).uid])
        assert refused is not None and refused.allowed is v221.AllowedType.NOT_ALLOWED
        assert refused.authorization_reference != sid


async def test_cdr_refused_with_018_is_dead_lettered(tmp_path: Path) -> None:
    async with live(tmp_path) as state:
        w = state.w
        info = await authorized(w)
        await w.backend.post_cdr(cdr(w, info, evse_id="DE*XYZ*ETEST1"))

        await wait_for(lambda: outbox_status(w, CDR_KIND, "dead"))

        message = (await w.outbox(kind=CDR_KIND))[0]
        assert "018" in (message.last_error or "") and w.sim.cdrs == {}
        assert len(hubject_calls(w, "charge_detail_record")) == 1, "not retried"


async def test_cdr_while_hubject_is_down_is_delivered_once_it_is_back(tmp_path: Path) -> None:
    async with live(tmp_path) as state:
        w = state.w
        info = await authorized(w)
        await state.hubject.stop()

        location = await w.backend.post_cdr(cdr(w, info))
        assert location is not None, "acknowledged while Hubject is down"
        await wait_for(lambda: first_failure(w))
        await state.hubject.start(w.sim.app)
        await wait_for(lambda: outbox_status(w, CDR_KIND, "delivered"), within=60)

        assert list(w.sim.cdrs) == [normalize_session_id(info.authorization_reference or "")]
        assert [c.status for c in hubject_calls(w, "charge_detail_record")] == [200]


async def test_cdr_without_session_id_is_held_then_released(tmp_path: Path) -> None:
    async with live(tmp_path) as state:
        w = state.w
        info = await authorized(w)
        await w.backend.post_cdr(cdr(w, info.token, session_id="S7"))  # no authorization_reference
        await wait_for(lambda: outbox_status(w, CDR_KIND, "held"))
        assert hubject_calls(w, "charge_detail_record") == []

        await w.backend.push_session(
            session(w, info, session_id="S7", status="COMPLETED", kwh="41.12", minutes=80)
        )
        await wait_for(lambda: outbox_status(w, CDR_KIND, "delivered"))

        assert normalize_session_id(info.authorization_reference or "") in w.sim.cdrs


async def test_session_and_cdr_of_a_peer_token_flow_to_the_peer(tmp_path: Path) -> None:
    async with live(tmp_path, peer=True) as state:
        w = state.w
        assert w.peer is not None
        token = w.peer.token("0A1B2C3D")
        assert (await w.peer.push_token(token)).status_code == 201
        w.peer.answers[token.uid] = "ALLOWED"

        info = await w.backend.authorize(token.uid, "RFID", w.location.id, [w.evse(0).uid])
        assert info is not None and info.allowed is v221.AllowedType.ALLOWED
        await w.backend.push_session(session(w, info, status="ACTIVE"))
        await w.backend.push_session(session(w, info, status="COMPLETED", kwh="41.12", minutes=80))
        await w.backend.post_cdr(cdr(w, info))
        await wait_for(lambda: outbox_status(w, OCPI_CDR_KIND, "delivered", target="peer"))
        peer = w.peer
        await wait_for(lambda: bool(peer.sessions) and peer.sessions[-1].body["status"] == "COMPLETED")

        assert len(w.peer.authorizations) == 1 and hubject_calls(w, "authorize_start") == []
        assert w.peer.sessions[-1].body["status"] == "COMPLETED"
        assert all(r.path == "/ocpi/2.2.1/emsp/sessions/IT/BEC/S1" for r in w.peer.sessions)
        assert [r.body["id"] for r in w.peer.cdrs] == ["CDR1"]
        assert w.peer.cdrs[0].headers["authorization"].startswith("Token ")
        assert w.sim.notifications == [] and w.sim.cdrs == {}
        assert {m.status for m in await w.outbox("peer", OCPI_SESSION_KIND)} == {"delivered"}


async def test_nothing_lost_across_a_gateway_restart(tmp_path: Path) -> None:
    async with live(tmp_path) as state:
        w = state.w
        info = await authorized(w)
        await state.hubject.stop()
        assert await w.backend.post_cdr(cdr(w, info)) is not None, "the POST is acknowledged"
        await wait_for(lambda: first_failure(w))

        await state.gateway.stop()  # before the delivery
        assert w.sim.cdrs == {}
        await state.hubject.start(w.sim.app)
        w.app = state.app(hooks=())  # the flow makes its own OICP client from the configuration
        await state.gateway.start(w.app)

        await wait_for(lambda: outbox_status(w, CDR_KIND, "delivered"), within=60)
        assert list(w.sim.cdrs) == [normalize_session_id(info.authorization_reference or "")]
        assert [c.status for c in hubject_calls(w, "charge_detail_record")] == [200]
