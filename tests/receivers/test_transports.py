"""Transports over real sockets and a real pseudo-terminal, with an in-memory sink."""

from __future__ import annotations

import asyncio
import os
import select
import tty
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from core.clock import FakeClock
from receivers import dc09, surgard
from receivers.dc09 import Dc09Config, Dc09Key, Dc09Receiver
from receivers.signal import Signal
from receivers.sink import MemorySink
from receivers.supervision import HeartbeatSupervisor
from receivers.transport_dc09 import Dc09Server
from receivers.transport_serial import LineReceiver, connect_tcp, serve_serial, serve_tcp

START = datetime(2021, 12, 22, 12, 44, 6, tzinfo=UTC)
RP = b'\nF2EA003B"SIA-DCS"1667L0#0000[#0000|Nri0/RP0000]_12:44:06,12-22-2021\r'
RP_ACK = b'\n910C0012"ACK"1667L0#0000[]\r'
ADM = b'\n9EC40027"ADM-CID"0001L0#1002[#1002|1602 00 001]\r'
ENC_NULL = (
    b'\n76D80055"*NULL"0000R0L0#AAAB[B4BC8B40D0E6D959D6BEA78E88CC0B21'
    b"55741A3C44FBB96D476A3E557CAD64D9\r"
)


def frame(body: str) -> bytes:
    raw = body.encode("latin-1")
    return b"\n" + f"{dc09.crc16_arc(raw):04X}{len(raw):04X}".encode() + raw + b"\r"


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r"), 5)


class BlockingSink(MemorySink):
    """Holds every store until released, to show that no ACK leaves before the commit."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def store(self, signals: list[Signal]) -> list[bool]:
        self.entered.set()
        await self.release.wait()
        return await super().store(signals)


class FailingSink(MemorySink):
    async def store(self, signals: list[Signal]) -> list[bool]:
        raise RuntimeError("database down")


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(START)


async def start_server(sink: MemorySink, clock: FakeClock, **cfg: object) -> Dc09Server:
    config = Dc09Config(receiver="ip1", **cfg)  # type: ignore[arg-type]
    return Dc09Server(Dc09Receiver(config), sink, clock)


@pytest.fixture
async def tcp(fake_clock: FakeClock) -> AsyncIterator[tuple[Dc09Server, MemorySink, int]]:
    sink = MemorySink()
    server = await start_server(
        sink, fake_clock, keys={"AAAB": Dc09Key.from_text("BBBBBBBBBBBBBBBB")}
    )
    port = await server.start_tcp()
    yield server, sink, port
    await server.close()


async def test_tcp_many_messages_retransmission_stored_once(
    tcp: tuple[Dc09Server, MemorySink, int],
) -> None:
    _, sink, port = tcp
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(RP + ADM[:20])  # one whole frame and the start of the next
    await writer.drain()
    assert await read_frame(reader) == RP_ACK
    writer.write(ADM[20:] + RP)  # rest of the second, then a retransmission of the first
    await writer.drain()
    assert dc09.parse_frame(await read_frame(reader)).message_id == "ACK"
    assert await read_frame(reader) == RP_ACK  # acknowledged again ...
    writer.close()
    await writer.wait_closed()
    assert [(s.event_code, s.sequence) for s in sink.signals] == [("RP", "1667"), ("602", "0001")]


async def test_tcp_wrong_key_gets_duh_and_nothing_stored() -> None:
    sink = MemorySink()
    clock = FakeClock(datetime(2020, 7, 5, 18, 24, 52, tzinfo=UTC))
    server = await start_server(sink, clock, keys={"AAAB": Dc09Key.from_text("BBBBBBBBBBBBBBBB")})
    port = await server.start_tcp()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ENC_NULL)
        await writer.drain()
        reply = dc09.parse_frame(await read_frame(reader))
        assert (reply.message_id, reply.account) == ("DUH", "AAAB")
        writer.close()
    finally:
        await server.close()
    assert sink.signals == [] and sink.calls == 0


async def test_tcp_wrong_crc_gets_nak_with_time(tcp: tuple[Dc09Server, MemorySink, int]) -> None:
    _, sink, port = tcp
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(RP.replace(b"F2EA", b"F2EB"))
    await writer.drain()
    assert await read_frame(reader) == dc09.build_nak(START)
    writer.close()
    assert sink.signals == []


async def test_tcp_ack_only_after_store_returns(fake_clock: FakeClock) -> None:
    sink = BlockingSink()
    server = await start_server(sink, fake_clock)
    port = await server.start_tcp()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(RP)
        await writer.drain()
        await asyncio.wait_for(sink.entered.wait(), 5)
        read = asyncio.ensure_future(reader.readuntil(b"\r"))
        await asyncio.sleep(0.05)
        assert not read.done() and sink.signals == []
        sink.release.set()
        assert await asyncio.wait_for(read, 5) == RP_ACK
        assert len(sink.signals) == 1
        writer.close()
    finally:
        await server.close()


async def test_tcp_failed_store_sends_no_ack(fake_clock: FakeClock) -> None:
    server = await start_server(FailingSink(), fake_clock)
    port = await server.start_tcp()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(RP)
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed without a reply
        writer.close()
    finally:
        await server.close()


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.replies.put_nowait(data)


async def test_udp_ack_nak_and_retransmission(fake_clock: FakeClock) -> None:
    sink = MemorySink()
    server = await start_server(sink, fake_clock)
    port = await server.start_udp()
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        _Client, remote_addr=("127.0.0.1", port)
    )
    try:
        for _ in range(2):
            transport.sendto(RP)
            assert await asyncio.wait_for(client.replies.get(), 5) == RP_ACK
        transport.sendto(RP.replace(b"F2EA", b"0000"))
        assert await asyncio.wait_for(client.replies.get(), 5) == dc09.build_nak(START)
        null = frame('"NULL"0002R1L1#9413[]')
        transport.sendto(null)
        reply = await asyncio.wait_for(client.replies.get(), 5)
        assert dc09.parse_frame(reply).message_id == "ACK"
        assert [s.sequence for s in sink.signals] == ["1667"]
    finally:
        transport.close()
        await server.close()


# --- serial lines -----------------------------------------------------------------------------


def read_fd(fd: int, n: int = 1, timeout: float = 5.0) -> bytes:
    ready, _, _ = select.select([fd], [], [], timeout)
    assert ready, "no reply from the receiver line"
    return os.read(fd, n)


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(master)
    path = os.ttyname(slave)
    yield master, path
    os.close(master)
    os.close(slave)


async def test_pty_surgard_ack_nak_heartbeat_and_supervision(
    pty_pair: tuple[int, str], fake_clock: FakeClock
) -> None:
    master, path = pty_pair
    sink = MemorySink()
    supervisor = HeartbeatSupervisor("mlr2", "surgard", sink, fake_clock, timeout=90)
    line = LineReceiver("surgard", "mlr2", sink, fake_clock, supervisor)
    opened = asyncio.Event()
    serving = asyncio.create_task(serve_serial(line, path, opened))
    watching = asyncio.create_task(supervisor.run())
    await asyncio.wait_for(opened.wait(), 5)
    try:

        async def exchange(data: bytes) -> bytes:
            os.write(master, data)
            return await asyncio.to_thread(read_fd, master)

        assert await exchange(b"5011 181234E13101015\x14") == b"\x06"
        assert await exchange(b"1011           @    \x14") == b"\x06"
        assert await exchange(b"5011 18garbled\x14") == b"\x15"
        assert [(s.account, s.event_code, s.zone) for s in sink.signals] == [("1234", "131", "015")]

        fake_clock.advance(120)  # no heartbeat for longer than the timeout
        for _ in range(100):
            if supervisor.in_trouble:
                break
            await asyncio.sleep(0.01)
        trouble = sink.signals[-1]
        assert (trouble.event_code, trouble.event_class, trouble.receiver) == (
            "YD",
            "trouble",
            "mlr2",
        )

        assert await exchange(surgard.build_heartbeat("01", "1")) == b"\x06"
        restore = sink.signals[-1]
        assert (restore.event_code, restore.qualifier, restore.event_class) == (
            "YE",
            "restore",
            "restore",
        )
        assert not supervisor.in_trouble
        assert len(sink.signals) == 3
    finally:
        for task in (serving, watching):
            task.cancel()
        await asyncio.gather(serving, watching, return_exceptions=True)


async def test_pty_failed_store_gets_no_ack(
    pty_pair: tuple[int, str], fake_clock: FakeClock
) -> None:
    master, path = pty_pair
    line = LineReceiver("surgard", "mlr2", FailingSink(), fake_clock)
    opened = asyncio.Event()
    serving = asyncio.create_task(serve_serial(line, path, opened))
    await asyncio.wait_for(opened.wait(), 5)
    try:
        os.write(master, b"5011 181234E13101015\x14")
        os.write(master, b"1011           @    \x14")
        # the heartbeat is answered, the signal before it was not
        assert await asyncio.to_thread(read_fd, master, 16) == b"\x06"
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


async def test_system5_style_tcp_ademco685(fake_clock: FakeClock) -> None:
    sink = MemorySink()
    line = LineReceiver("ademco685", "685-tcp", sink, fake_clock)
    server = await serve_tcp(line)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\n11 1234 18 E131 01 C015\r\n11 OKAY @ \r\n1x junk\r")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(3), 5) == b"\x06\x06\x15"
        writer.close()
        assert [(s.protocol, s.event_code, s.zone) for s in sink.signals] == [
            ("ademco685", "131", "015")
        ]
    finally:
        server.close()
        await server.wait_closed()


async def test_system5_style_tcp_client_connects_to_the_receiver(fake_clock: FakeClock) -> None:
    sink = MemorySink()
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    async def receiver(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"1011           @    \x14" + b"5011 181234E13101015\x14")
        await writer.drain()
        await answers.put(await reader.readexactly(2))
        writer.close()

    server = await asyncio.start_server(receiver, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    line = LineReceiver("surgard", "sys5", sink, fake_clock)
    client = asyncio.create_task(connect_tcp(line, "127.0.0.1", port))
    try:
        assert await asyncio.wait_for(answers.get(), 5) == b"\x06\x06"
        assert [(s.receiver, s.event_code) for s in sink.signals] == [("sys5", "131")]
    finally:
        client.cancel()
        await asyncio.gather(client, return_exceptions=True)
        server.close()
        await server.wait_closed()


async def test_supervision_alone_with_fake_clock(fake_clock: FakeClock) -> None:
    sink = MemorySink()
    sup = HeartbeatSupervisor("rx", "surgard", sink, fake_clock, timeout=60, account="CENTER")
    fake_clock.advance(59)
    assert await sup.check() is None
    await sup.beat()
    fake_clock.advance(60)
    assert await sup.check() is None  # exactly at the limit is still fine
    fake_clock.advance(1)
    trouble = await sup.check()
    assert trouble is not None and trouble.account == "CENTER"
    assert await sup.check() is None  # raised once, not on every check
    await sup.beat()
    await sup.beat()
    assert [s.event_code for s in sink.signals] == ["YD", "YE"]
