"""Issue 13: junk on the FastAGI port (binary, endless lines, no blank line, bad routes,
path tricks) never takes the IVR server down nor holds a session: each junk connection is
closed or answered HANGUP, and a real call is still served afterwards. Seeded."""

from __future__ import annotations

import asyncio
import random

from ivr.server import IvrServer
from tests.ivr.fake_asterisk import environment

RNG = random.Random(13)
JUNK: list[bytes] = [
    b"\x00\xff\xfe" * 100 + b"\n\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"agi_network: yes\nagi_network_script: ../../etc/passwd\n\n",
    b"agi_network_script: ivr\x00\n\n",
    b"agi_request: agi://h/%s\n\n" % (b"A" * 5000),
    b"no colon here\nstill none\n\n",
    b"x" * 200_000,  # one endless line: over the reader's limit
    b"agi_network: yes\n" * 20_000 + b"\n",  # an endless environment
    *(bytes(RNG.randrange(256) for _ in range(RNG.randrange(1, 400))) + b"\n\n"
      for _ in range(30)),
]


async def junk_then_close(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        writer.write_eof()
        return await asyncio.wait_for(reader.read(), 15)  # answered and closed, or closed
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def test_junk_never_stops_the_fastagi_server(server: IvrServer) -> None:
    port = server.bound_port
    for payload in JUNK:
        reply = await junk_then_close(port, payload)
        assert reply in (b"", b"HANGUP\n"), (payload[:60], reply[:80])
    assert server.app is not None
    for _ in range(100):  # every junk session has ended
        if not server.app.sessions:
            break
        await asyncio.sleep(0.02)
    assert not server.app.sessions
    # A real request is still served: an unknown route is hung up at once.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(environment("no-such-route", port=port))
    await writer.drain()
    assert await asyncio.wait_for(reader.readline(), 5) == b"HANGUP\n"
    writer.close()


async def test_a_silent_connection_is_dropped_after_the_environment_timeout(
        server: IvrServer) -> None:
    assert server.app is not None
    server.app.env_timeout = 0.3
    reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
    writer.write(b"agi_network: yes\n")  # and then nothing, like a slowloris
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
