"""The CPO-side charging flow in process (bridge.flows.cpo_charging): real-time authorization
through Hubject or an OCPI eMSP peer, Sessions → ChargingNotifications, CDRs → Hubject (one per
SessionID, held without one, dead-lettered on refusals that cannot change) and → the peer.

The gateway runs in process with its lifespan (delivery + this flow), the Hubject simulator behind
httpx.ASGITransport (it validates every body against the official schemas and enforces SessionIDs
and one CDR per SessionID), the CPO backend and the eMSP peer simulators on loopback. Sessions and
CDRs are the official OCPI 2.2.1 examples moved to the backend's network.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bridge.flows.cpo_charging import CDR_KIND, NOTIFICATION_KIND, OCPI_CDR_KIND, OCPI_SESSION_KIND
from bridge.flows.cpo_charging_state import (
    ACTIVE_EVSE,
    HubjectSession,
    evse_key,
    get_hubject_session,
    get_notification_state,
    register_hubject_session,
)
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import format_datetime
from bridge.oicp.models import normalize_session_id
from tests.flows.cpo_charging_support import (
    OPERATOR,
    PEER,
    PROVIDER,
    World,
    cdr,
    session,
    wait_for,
    world,
)
from tests.store.conftest import Backend

UID = "AB12CD34"


def hubject_ops(w: World, operation: str) -> list[Any]:
    return [e for e in w.sim.exchanges_for(operation) if e.direction == "to_hubject"]


def notifications(w: World) -> list[dict[str, Any]]:
    return [
        e.request for e in hubject_ops(w, "charging_notification") if e.status == 200 and e.response["Result"]
    ]


async def authorized(w: World, uid: str = UID, evse: int = 0) -> v221.AuthorizationInfo:
    w.sim.authorize(uid, provider_id=PROVIDER)
    info = await w.backend.authorize(uid, "RFID", w.location.id, [w.evse(evse).uid])
    assert info is not None and info.allowed is v221.AllowedType.ALLOWED
    return info


async def delivered(w: World, kind: str, count: int = 1, target: str = "hubject") -> list[Any]:
    async def check() -> bool:
        messages = await w.outbox(target, kind)
        return sum(m.status == "delivered" for m in messages) >= count

    await wait_for(check)
    return [m for m in await w.outbox(target, kind) if m.status == "delivered"]


# --------------------------------------------------------------------------------------------
# Real-time authorization through Hubject


async def test_rfid_authorization_gets_a_hubject_session_id(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        info = await authorized(w)

        starts = hubject_ops(w, "authorize_start")
        assert len(starts) == 1 and starts[0].status == 200
        request = starts[0].request
        assert request["OperatorID"] == OPERATOR
        assert request["EvseID"] == w.evse(0).evse_id
        assert request["Identification"] == {"RFIDMifareFamilyIdentification": {"UID": UID}}
        session_id = starts[0].response["SessionID"]
        assert info.authorization_reference == session_id
        assert (info.token.country_code, info.token.party_id, info.token.uid) == ("DE", "BRE", UID)
        assert info.token.whitelist is v221.WhitelistType.NEVER, "Hubject tokens are never whitelisted"
        stored = await get_hubject_session(w.store, session_id)
        assert stored is not None and stored.origin == "authorize_start"
        assert w.gateway.services["delivery"].kinds == [CDR_KIND, NOTIFICATION_KIND], "no eMSP peers"
        assert stored.evse_id == w.evse(0).evse_id and stored.token is not None and stored.token["uid"] == UID


async def test_not_authorized_maps_through_the_rules(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        refused = await w.backend.authorize(UID, "RFID", w.location.id, [w.evse(0).uid])
        w.sim.authorize("0011AABB", authorized=False, code="200")
        blocked = await w.backend.authorize("0011AABB", "RFID", w.location.id, [w.evse(0).uid])

        assert refused is not None and refused.allowed is v221.AllowedType.NOT_ALLOWED
        assert blocked is not None and blocked.allowed is v221.AllowedType.BLOCKED
        assert [e.response["StatusCode"]["Code"] for e in hubject_ops(w, "authorize_start")] == ["102", "200"]
        assert await w.outbox() == [], "no SessionID, nothing correlated"


async def test_hubject_unreachable_is_not_allowed_once(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.sim.authorize(UID, provider_id=PROVIDER)
        w.sim.inject_fault("authorize_start", 503)

        info = await w.backend.authorize(UID, "RFID", w.location.id, [w.evse(0).uid])

        assert info is not None and info.allowed is v221.AllowedType.NOT_ALLOWED
        assert info.info is not None and "Hubject" in info.info.text
        assert len(hubject_ops(w, "authorize_start")) == 1, "AuthorizeStart is never retried"


async def test_hubject_too_slow_is_not_allowed_within_the_deadline(tmp_path: Path) -> None:
    async with world(tmp_path, authorize_delay=5.0) as w:
        w.sim.authorize(UID, provider_id=PROVIDER)
        w.gateway.services["authorization_handler"].deadline = 0.2

        info = await w.backend.authorize(UID, "RFID", w.location.id, [w.evse(0).uid])

        assert info is not None and info.allowed is v221.AllowedType.NOT_ALLOWED
        assert info.info is not None and "did not answer within 0.2 s" in info.info.text
        assert hubject_ops(w, "authorize_start") == [], "the answer did not wait for Hubject"


async def test_token_that_cannot_be_an_oicp_uid_is_unknown(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        assert await w.backend.authorize("not-hex-at-all", "RFID", w.location.id) is None
        assert hubject_ops(w, "authorize_start") == []


# --------------------------------------------------------------------------------------------
# Sessions → ChargingNotifications


async def test_session_start_progress_end_notifications(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        info = await authorized(w)
        sid = info.authorization_reference
        assert sid is not None
        await w.backend.push_session(session(w, info, status="ACTIVE"))
        await delivered(w, NOTIFICATION_KIND, 1)
        at = w.at
        # 2 minutes later: too early for a Progress (counted from the Start, oicp-2.3.md §1.5).
        await w.backend.patch_session(
            "S1", {"kwh": 2.5, "last_updated": format_datetime(at + timedelta(minutes=2))}
        )
        await w.backend.patch_session(
            "S1", {"kwh": 7.25, "last_updated": format_datetime(at + timedelta(minutes=6))}
        )
        await w.backend.patch_session(
            "S1", {"kwh": 8.0, "last_updated": format_datetime(at + timedelta(minutes=9))}
        )
        await w.backend.patch_session(
            "S1", {"kwh": 12.0, "last_updated": format_datetime(at + timedelta(minutes=12))}
        )
        completed = session(w, info, status="COMPLETED", kwh="41.12", minutes=80)
        await w.backend.push_session(completed)
        await delivered(w, NOTIFICATION_KIND, 4)

        sent = notifications(w)
        assert [n["Type"] for n in sent] == ["Start", "Progress", "Progress", "End"]
        assert {n["SessionID"] for n in sent} == {sid}
        assert {n["EvseID"] for n in sent} == {w.evse(0).evse_id}
        assert all(n["OperatorID"] == OPERATOR and n["CPOPartnerSessionID"] == "S1" for n in sent)
        assert sent[0]["ChargingStart"].endswith("+02:00") or sent[0]["ChargingStart"].endswith("+01:00")
        assert [n.get("ConsumedEnergyProgress") for n in sent[1:3]] == [7.25, 12.0]
        assert sent[1]["ChargingDuration"] > 0 and sent[1]["EventOccurred"] < sent[2]["EventOccurred"]
        assert sent[3]["ConsumedEnergy"] == 41.12
        state = await get_notification_state(w.store, sid)
        assert state.ended and state.last_progress_at is not None
        assert await w.store.get_correlation(ACTIVE_EVSE, evse_key(w.evse(0).evse_id or "")) is None
        assert all(m.order_key == "notifications:" + normalize_session_id(sid) for m in await w.outbox())


async def test_completed_without_active_sends_start_then_end_and_invalid_sends_error(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        first = await authorized(w)
        second = await authorized(w, "0A0B0C0D", evse=1)
        await w.backend.push_session(
            session(w, first, session_id="S1", status="COMPLETED", kwh="41.12", minutes=80)
        )
        await w.backend.push_session(session(w, second, session_id="S2", status="ACTIVE", evse=1))
        await w.backend.patch_session("S2", {"status": "INVALID"})
        await delivered(w, NOTIFICATION_KIND, 4)

        by_session: dict[str, list[str]] = {}
        for n in notifications(w):
            by_session.setdefault(n["SessionID"], []).append(n["Type"])
        assert by_session == {
            first.authorization_reference: ["Start", "End"],
            second.authorization_reference: ["Start", "Error"],
        }
        error = next(n for n in notifications(w) if n["Type"] == "Error")
        assert error["ErrorType"] == "CriticalError"


async def test_session_without_known_session_id_gets_no_notification(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        token = v221.Token.model_validate(
            {
                "country_code": "DE",
                "party_id": "BRE",
                "uid": UID,
                "type": "RFID",
                "contract_id": UID,
                "issuer": "x",
                "valid": True,
                "whitelist": "NEVER",
                "last_updated": format_datetime(w.at),
            }
        )
        await w.backend.push_session(session(w, token, reference="not-a-hubject-reference"))
        await w.backend.patch_session("S1", {"kwh": 3})

        assert await w.outbox() == []
        assert hubject_ops(w, "charging_notification") == []


async def test_same_medium_again_at_its_charging_evse_is_a_stop(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        info = await authorized(w)
        await w.backend.push_session(session(w, info, status="ACTIVE"))
        await delivered(w, NOTIFICATION_KIND, 1)

        again = await w.backend.authorize(UID, "RFID", w.location.id, [w.evse(0).uid])

        assert again is not None and again.allowed is v221.AllowedType.ALLOWED
        assert again.authorization_reference == info.authorization_reference
        assert len(hubject_ops(w, "authorize_start")) == 1, "no second SessionID"
        stops = hubject_ops(w, "authorize_stop")
        assert len(stops) == 1 and stops[0].request["SessionID"] == info.authorization_reference
        assert stops[0].response["AuthorizationStatus"] == "Authorized"
        # Another card at another EVSE is a new start.
        other = await authorized(w, "0A0B0C0D", evse=1)
        assert other.authorization_reference != info.authorization_reference


# --------------------------------------------------------------------------------------------
# CDRs → Hubject


async def test_cdr_reaches_hubject_once_and_schema_valid(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        info = await authorized(w)
        sid = info.authorization_reference
        assert sid is not None
        await w.backend.push_session(session(w, info, status="COMPLETED", kwh="41.12", minutes=80))
        location_header = await w.backend.post_cdr(cdr(w, info))
        assert location_header is not None and location_header.endswith("/ocpi/2.2.1/emsp/cdrs/IT/BEC/CDR1")
        messages = await delivered(w, CDR_KIND)

        assert len(messages) == 1 and messages[0].key == normalize_session_id(sid)
        record = w.sim.cdrs[normalize_session_id(sid)]
        body = record.cdr
        assert body["EvseID"] == w.evse(0).evse_id and body["CPOPartnerSessionID"] == "S1"
        assert body["Identification"] == {"RFIDMifareFamilyIdentification": {"UID": UID}}
        assert body["ConsumedEnergy"] == 15.342
        assert body["SessionStart"].endswith(("+01:00", "+02:00")), "the Location's time zone (Europe/Rome)"
        cdr_calls = hubject_ops(w, "charge_detail_record")
        assert [c.status for c in cdr_calls] == [200] and cdr_calls[0].response["Result"] is True


async def test_cdr_while_hubject_fails_is_delivered_once_after(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        info = await authorized(w)
        w.sim.inject_fault("charge_detail_record", 503, times=2)
        await w.backend.post_cdr(cdr(w, info))
        messages = await delivered(w, CDR_KIND)

        assert messages[0].attempts == 2, "two failed attempts before the delivery"
        assert [c.status for c in hubject_ops(w, "charge_detail_record")] == [503, 503, 200]
        assert len(w.sim.cdrs) == 1


async def test_cdr_whose_answer_was_lost_is_not_dead_lettered(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        info = await authorized(w)
        w.sim.inject_fault("charge_detail_record", 502, after_processing=True)
        await w.backend.post_cdr(cdr(w, info))
        await delivered(w, CDR_KIND)

        codes = [c.response["StatusCode"]["Code"] for c in hubject_ops(w, "charge_detail_record")[1:]]
        assert codes == ["022"], "Hubject already held it: the repeat was refused"
        assert len(w.sim.cdrs) == 1


async def test_cdr_refused_with_018_is_dead_lettered(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        info = await authorized(w)
        await w.backend.post_cdr(cdr(w, info, evse_id="DE*XYZ*ETEST1"))

        async def dead() -> bool:
            return any(m.status == "dead" for m in await w.outbox(kind=CDR_KIND))

        await wait_for(dead)
        message = (await w.outbox(kind=CDR_KIND))[0]
        assert message.last_error is not None and "018" in message.last_error
        assert len(hubject_ops(w, "charge_detail_record")) == 1 and w.sim.cdrs == {}
        # The dead CDR does not keep the SessionID: a corrected CDR (a new id) goes through.
        await w.backend.post_cdr(cdr(w, info, cdr_id="CDR1-FIXED"))
        fixed = await delivered(w, CDR_KIND)
        assert fixed[0].key == "cdr:IT/BEC/CDR1-FIXED"
        assert w.sim.cdrs[normalize_session_id(info.authorization_reference or "")].cdr["EvseID"] == (
            w.evse(0).evse_id
        )


async def test_second_cdr_for_a_session_id_is_dead_lettered_not_sent(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        info = await authorized(w)
        await w.backend.post_cdr(cdr(w, info, cdr_id="CDR1"))
        await delivered(w, CDR_KIND)
        await w.backend.post_cdr(cdr(w, info, cdr_id="CDR2"))

        async def dead() -> bool:
            return any(m.status == "dead" for m in await w.outbox(kind=CDR_KIND))

        await wait_for(dead)
        second = next(m for m in await w.outbox(kind=CDR_KIND) if m.status == "dead")
        assert second.key == "cdr:IT/BEC/CDR2" and "one CDR per SessionID" in (second.last_error or "")
        assert len(hubject_ops(w, "charge_detail_record")) == 1


async def test_cdr_without_session_id_is_held_then_released_by_the_correlation(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        remote = w.sim.open_session(evse_id=w.evse(0).evse_id or "", provider_id=PROVIDER, kind="remote")
        info = await authorized(w)  # only for the token
        await w.backend.post_cdr(cdr(w, info.token, reference=remote, session_id=None))

        async def held() -> bool:
            return any(m.status == "held" for m in await w.outbox(kind=CDR_KIND))

        await wait_for(held)
        message = (await w.outbox(kind=CDR_KIND))[0]
        assert "no Hubject SessionID" in (message.last_error or "")
        assert hubject_ops(w, "charge_detail_record") == []

        async with w.store.transaction() as tx:  # what the remote-start flow does with its SessionID
            released = await register_hubject_session(
                tx, HubjectSession(session_id=remote, authorization_reference=remote, origin="remote_start")
            )
        w.gateway.services["delivery"].notify()
        assert released == 1
        await delivered(w, CDR_KIND)
        assert normalize_session_id(remote) in w.sim.cdrs


async def test_cdr_held_for_its_session_is_released_when_the_session_names_its_session_id(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        info = await authorized(w)
        await w.backend.post_cdr(cdr(w, info.token, session_id="S9"))

        async def held() -> bool:
            return any(m.status == "held" for m in await w.outbox(kind=CDR_KIND))

        await wait_for(held)
        await w.backend.push_session(
            session(w, info, session_id="S9", status="COMPLETED", kwh="41.12", minutes=80)
        )
        await delivered(w, CDR_KIND)

        assert normalize_session_id(info.authorization_reference or "") in w.sim.cdrs


# --------------------------------------------------------------------------------------------
# OCPI eMSP peers


async def test_peer_token_session_and_cdr_go_to_the_peer(tmp_path: Path) -> None:
    async with world(tmp_path, peer=True) as w:
        assert w.peer is not None
        token = w.peer.token("0A1B2C3D", whitelist="NEVER")
        assert (await w.peer.push_token(token)).status_code == 201
        w.peer.answers[token.uid] = "ALLOWED"

        info = await w.backend.authorize(token.uid, "RFID", w.location.id, [w.evse(0).uid])

        assert info is not None and info.allowed is v221.AllowedType.ALLOWED
        assert info.authorization_reference == "PEER-0A1B2C3D"
        assert len(w.peer.authorizations) == 1
        assert w.peer.authorizations[0].body == {"location_id": w.location.id, "evse_uids": [w.evse(0).uid]}
        assert hubject_ops(w, "authorize_start") == []

        sent_session = session(w, info, status="ACTIVE")
        await w.backend.push_session(sent_session)
        await w.backend.patch_session("S1", {"kwh": 4.5})
        sent_cdr = cdr(w, info)
        await w.backend.post_cdr(sent_cdr)
        await delivered(w, OCPI_SESSION_KIND, 2, target="peer")
        await delivered(w, OCPI_CDR_KIND, target="peer")

        assert [(r.method, r.path) for r in w.peer.sessions] == [
            ("PUT", "/ocpi/2.2.1/emsp/sessions/IT/BEC/S1")
        ] * 2
        # Each PUT carries the whole Session as stored when it is sent (the latest state).
        stored = await w.store.get_object("sessions", "IT", "BEC", "S1")
        assert stored is not None and w.peer.sessions[-1].body == stored.data
        assert w.peer.sessions[-1].body["kwh"] == 4.5
        assert w.peer.sessions[0].headers["ocpi-to-party-id"] == PEER.party_id
        assert len(w.peer.cdrs) == 1 and w.peer.cdrs[0].body["id"] == "CDR1"
        assert w.peer.cdrs[0].body["cdr_token"]["uid"] == token.uid
        assert hubject_ops(w, "charging_notification") == [] and hubject_ops(w, "charge_detail_record") == []


async def test_peer_whitelist_rules_for_real_time_authorization(tmp_path: Path) -> None:
    async with world(tmp_path, peer=True) as w:
        assert w.peer is not None
        always = w.peer.token("0A1B2C3E", whitelist="ALWAYS")
        offline = w.peer.token("0A1B2C3F", whitelist="ALLOWED_OFFLINE")
        unknown_at_peer = w.peer.token("0A1B2C40", whitelist="NEVER")
        for token in (always, offline, unknown_at_peer):
            await w.peer.push_token(token)
        w.peer.answers[offline.uid] = "BLOCKED"

        from_store = await w.backend.authorize(always.uid)
        asked = await w.backend.authorize(offline.uid)
        unknown = await w.backend.authorize(unknown_at_peer.uid)

        assert from_store is not None and from_store.allowed is v221.AllowedType.ALLOWED
        assert asked is not None and asked.allowed is v221.AllowedType.BLOCKED
        assert unknown is None, "the peer answered 2004: unknown token"
        assert [r.path.split("/")[-2] for r in w.peer.authorizations] == [offline.uid, unknown_at_peer.uid]


async def test_hubject_off_only_peer_half(tmp_path: Path) -> None:
    async with world(tmp_path, peer=True, hubject=False) as w:
        assert w.peer is not None
        token = w.peer.token("0A1B2C3D", whitelist="ALWAYS")
        await w.peer.push_token(token)
        info = await w.backend.authorize(token.uid)
        assert info is not None and info.allowed is v221.AllowedType.ALLOWED
        assert await w.backend.authorize("AB12CD34") is None, "no Hubject: unknown token"
        await w.backend.post_cdr(cdr(w, info))
        await delivered(w, OCPI_CDR_KIND, target="peer")
        assert w.gateway.services["delivery"].kinds == [OCPI_CDR_KIND, OCPI_SESSION_KIND]


# --------------------------------------------------------------------------------------------
# PostgreSQL (listeners run before the commit; claims run concurrently on other connections)


async def test_journey_on_postgresql(tmp_path: Path) -> None:
    database = Backend("postgresql", tmp_path)
    try:
        async with world(tmp_path, peer=True, store=database.url) as w:
            assert w.peer is not None
            info = await authorized(w)
            await w.backend.push_session(session(w, info, status="ACTIVE"))
            await w.backend.push_session(session(w, info, status="COMPLETED", kwh="41.12", minutes=80))
            await w.backend.post_cdr(cdr(w, info))
            token = w.peer.token("0A1B2C3D", whitelist="ALWAYS")
            await w.peer.push_token(token)
            peer_info = await w.backend.authorize(token.uid)
            assert peer_info is not None
            await w.backend.post_cdr(cdr(w, peer_info, cdr_id="CDR-PEER", session_id=None))
            await delivered(w, CDR_KIND)
            await delivered(w, NOTIFICATION_KIND, 2)
            await delivered(w, OCPI_CDR_KIND, target="peer")

            assert [n["Type"] for n in notifications(w)] == ["Start", "End"]
            assert list(w.sim.cdrs) == [normalize_session_id(info.authorization_reference or "")]
            assert [r.body["id"] for r in w.peer.cdrs] == ["CDR-PEER"]
    finally:
        database.drop()
