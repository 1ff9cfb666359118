"""Issue 13, finding 8: the DC-09 receiver under abuse. UDP answers only frames (no 47-byte NAK
reflected for a 1-byte datagram); bare CRs are line noise; rejections are answered and logged
within a budget per address and a TCP sender past it is cut off; connections are capped per
address and in total; timestamps (and encryption) can be required; the admin sees which
accounts report in plain text."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from core.clock import FakeClock
from core.services import Services
from receivers import dc09
from receivers.dc09 import Dc09Config, Dc09Key, Dc09Receiver
from receivers.journal import SignalJournal
from receivers.outcome import Accepted, Rejected
from receivers.sink import MemorySink
from receivers.source_guard import GuardLimits
from receivers.transport_dc09 import Dc09Server
from tests.conftest import LoginFactory
from tests.receivers.test_transports import RP, RP_ACK, START, read_frame

NOW = datetime(2026, 3, 1, 2, 0, 0, tzinfo=UTC)
KEY = Dc09Key.from_hex("00112233445566778899AABBCCDDEEFF")


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.replies.put_nowait(data)


async def server(limits: GuardLimits | None = None) -> tuple[Dc09Server, MemorySink]:
    sink = MemorySink()
    return Dc09Server(Dc09Receiver(Dc09Config(receiver="ip1")), sink, FakeClock(START),
                      limits=limits), sink


async def test_udp_answers_frames_only() -> None:
    srv, sink = await server()
    port = await srv.start_udp()
    transport, client = await asyncio.get_running_loop().create_datagram_endpoint(
        _Udp, remote_addr=("127.0.0.1", port))
    try:
        for junk in (b"x", b"\r", b"\n0000", b"A" * 200, b"\n0000FFFF\"SIA-DCS\"\r"):
            transport.sendto(junk)
        transport.sendto(RP.replace(b"F2EA", b"0000"))  # a frame damaged on the way: NAK
        transport.sendto(RP)
        first = await asyncio.wait_for(client.replies.get(), 5)
        assert dc09.parse_frame(first).message_id == "NAK"
        assert await asyncio.wait_for(client.replies.get(), 5) == RP_ACK
        assert client.replies.empty() and len(sink.signals) == 1
    finally:
        transport.close()
        await srv.close()


async def test_bare_carriage_returns_are_line_noise(caplog: pytest.LogCaptureFixture) -> None:
    srv, sink = await server()
    port = await srv.start_tcp()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        with caplog.at_level(logging.INFO, logger="receivers"):
            writer.write(b"\r" * 20_000 + RP)
            await writer.drain()
            assert await read_frame(reader) == RP_ACK  # the first reply is the frame's ACK
        assert srv.stats()["blank_frames"] == 20_000
        assert len(caplog.records) < 5
        writer.close()
    finally:
        await srv.close()


async def test_a_junk_stream_gets_a_bounded_number_of_naks_then_is_cut_off(
        caplog: pytest.LogCaptureFixture) -> None:
    srv, _ = await server(GuardLimits(burst=10, per_second=0.5))
    port = await srv.start_tcp()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        with caplog.at_level(logging.INFO, logger="receivers"):
            writer.write(b"\nJUNK\r" * 5_000)
            await writer.drain()
            replies = await asyncio.wait_for(reader.read(), 10)  # until the server closes
        naks = replies.count(b'"NAK"')
        assert 1 <= naks <= 12, naks
        rejected = [r for r in caplog.records if "rejected" in r.getMessage()]
        assert len(rejected) <= 12 and len(caplog.records) < 20
        assert srv.stats()["rejections_held_back"] >= 1
        writer.close()
    finally:
        await srv.close()


async def test_connections_are_capped_per_address_and_in_total() -> None:
    srv, _ = await server(GuardLimits(per_source=3, total=100))
    port = await srv.start_tcp()
    conns = []
    try:
        for _ in range(3):
            conns.append(await asyncio.open_connection("127.0.0.1", port))
        for _, w in conns:
            w.write(RP)
            await w.drain()
        for r, _ in conns:  # served: each got its ACK, so each is counted
            assert await read_frame(r) == RP_ACK
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed at once
        writer.close()
        assert srv.stats()["connections"] == 3 and srv.stats()["refused_connections"] == 1
        r0, w0 = conns.pop()
        w0.close()
        await w0.wait_closed()
        for _ in range(100):  # the server notices the close and frees the slot
            if srv.stats()["connections"] == 2:
                break
            await asyncio.sleep(0.02)
        conns.append(await asyncio.open_connection("127.0.0.1", port))
        conns[-1][1].write(RP)
        await conns[-1][1].drain()
        assert await read_frame(conns[-1][0]) == RP_ACK
    finally:
        for _, w in conns:
            w.close()
        await srv.close()
    total, _ = await server(GuardLimits(per_source=10, total=2))
    port = await total.start_tcp()
    try:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        for r, w in held:
            w.write(RP)
            await w.drain()
            assert await read_frame(r) == RP_ACK
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        for _, w in held:
            w.close()
    finally:
        await total.close()


def test_timestamps_and_encryption_can_be_required() -> None:
    untimed = dc09.build_message("SIA-DCS", 1, "1234", "#1234|NBA05")
    timed = dc09.build_message("SIA-DCS", 2, "1234", "#1234|NBA05", now=NOW)
    loose = Dc09Receiver(Dc09Config())
    assert isinstance(loose.handle(untimed, NOW), Accepted)  # the default, as panels vary
    strict = Dc09Receiver(Dc09Config(require_timestamp=True))
    out = strict.handle(untimed, NOW)
    assert isinstance(out, Rejected) and dc09.parse_frame(out.reply).message_id == "NAK"
    assert isinstance(strict.handle(timed, NOW), Accepted)
    per_account = Dc09Receiver(Dc09Config(timestamp_accounts=frozenset({"1234"})))
    assert isinstance(per_account.handle(untimed, NOW), Rejected)
    other = dc09.build_message("SIA-DCS", 3, "5678", "#5678|NBA05")
    assert isinstance(per_account.handle(other, NOW), Accepted)
    # An old replayed frame with a timestamp is outside the window: NAK.
    stale = dc09.build_message("SIA-DCS", 4, "1234", "#1234|NBA05",
                               now=NOW.replace(hour=1))
    assert isinstance(strict.handle(stale, NOW), Rejected)
    must_encrypt = Dc09Receiver(Dc09Config(require_encryption=True, keys={"1234": KEY}))
    assert isinstance(must_encrypt.handle(other, NOW), Rejected)
    enc = dc09.build_message("SIA-DCS", 5, "1234", "#1234|NBA05", now=NOW, key=KEY)
    assert isinstance(must_encrypt.handle(enc, NOW), Accepted)


async def test_admin_sees_the_accounts_reporting_in_plain_text(
        services: Services, login: LoginFactory, clock: FakeClock) -> None:
    rx = Dc09Receiver(Dc09Config(receiver="ip1", keys={"4444": KEY}, check_timestamp=False))
    now = clock.now()
    frames = [dc09.build_message("SIA-DCS", 1, "1111", "#1111|NBA05"),
              dc09.build_message("SIA-DCS", 2, "1111", "#1111|NBA06", now=now),
              dc09.build_message("SIA-DCS", 3, "4444", "#4444|NBA05", now=now, key=KEY),
              dc09.build_message("ADM-CID", 4, "2222", "#2222|1130 01 005")]
    journal = SignalJournal(services.db, None, services.clock)
    for raw in frames:
        out = rx.handle(raw, now)
        assert isinstance(out, Accepted), out
        await journal.store(list(out.signals))
    await journal.close()
    agent = await login("agent")
    assert (await agent.get("/api/receivers/dc09-plaintext")).status_code == 403
    admin = await login("admin")
    r = await admin.get("/api/receivers/dc09-plaintext")
    assert r.status_code == 200, r.text
    rows = {i["account"]: i for i in r.json()["items"]}
    assert set(rows) == {"1111", "2222"}  # 4444 encrypts
    assert (rows["1111"]["plain"], rows["1111"]["untimed"], rows["1111"]["has_key"]) == (2, 1,
                                                                                         False)
