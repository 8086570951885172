"""The emulator's reads of input URLs: a dropped connection is tried again, an HTTP answer is final.

A real TCP server on loopback plays storage: it resets the connections it is told to drop (an RST
before any answer: aiohttp's ``ClientOSError``, what a busy Azurite caused in the benchmarks), and
answers the others with a fixed status.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import aiohttp
import pytest

from emulators.content_understanding.documents import FETCH_ATTEMPTS, fetch
from emulators.content_understanding.errors import OperationFailure


class Storage:
    def __init__(self, drop: int, status: int = 200) -> None:
        self.drop, self.status, self.connections = drop, status, 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if self.connections <= self.drop:
            # Linger 0: close() sends an RST, so the client sees "connection reset by peer".
            writer.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            writer.close()
            return
        body = b"hello" if self.status == 200 else b"denied"
        head = f"HTTP/1.1 {self.status} X\r\nContent-Length: {len(body)}\r\nContent-Type: text/plain\r\n"
        writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def read(storage: Storage, session: aiohttp.ClientSession) -> tuple[bytes, str | None]:
    server = await asyncio.start_server(storage.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        url = f"http://127.0.0.1:{port}/inputs/a.txt?sig=secret"
        return await fetch(session, url, "input 'a.txt'", allow_remote=False, inner_code="NotAccessible")


# aiohttp itself sends a request again once when its connection drops before any answer: each of
# the emulator's attempts may take two connections.
async def test_a_dropped_connection_is_tried_again(session: aiohttp.ClientSession) -> None:
    storage = Storage(drop=3)  # more than aiohttp's own second try covers

    data, content_type = await read(storage, session)

    assert (data, content_type) == (b"hello", "text/plain")
    assert storage.connections == 4


async def test_a_connection_that_keeps_dropping_fails_the_read(session: aiohttp.ClientSession) -> None:
    storage = Storage(drop=100)

    with pytest.raises(OperationFailure) as failure:
        await read(storage, session)

    assert FETCH_ATTEMPTS <= storage.connections <= 2 * FETCH_ATTEMPTS
    assert failure.value.inner_code == "NotAccessible"
    assert "secret" not in str(failure.value.detail)


async def test_an_http_error_is_final(session: aiohttp.ClientSession) -> None:
    storage = Storage(drop=0, status=403)

    with pytest.raises(OperationFailure, match="HTTP 403"):
        await read(storage, session)

    assert storage.connections == 1
