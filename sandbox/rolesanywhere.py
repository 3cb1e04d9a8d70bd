"""An IAM Roles Anywhere emulator: `POST /sessions` (CreateSession) over HTTPS on 127.0.0.1, for the sandbox.

It checks what AWS checks before it hands out credentials (rolesanywhere_checks.py): the X.509 SigV4 variant of
the Authorization header (`AWS4-X509-RSA-SHA256` / `AWS4-X509-ECDSA-SHA256`), the signature over the canonical
request (canonicalised by botocore's own SigV4 code) with the public key of the `X-Amz-X509` certificate, the
chain up to the trust anchor's CA (cryptography's X.509 verifier), the certificate's validity dates,
`X-Amz-Date` within 5 minutes, the credential scope and serial number, the trust anchor / profile / role ARNs
and `durationSeconds`. Credentials come from STS AssumeRole on moto's server, so STS and Secrets Manager there
accept them and GetCallerIdentity names the assumed role. Errors use AWS's REST-JSON shape: `{"message": ...}`
plus an `x-amzn-ErrorType` header. Development only: the product never imports this module.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sandbox.faults import Faults, reason
from sandbox.rolesanywhere_checks import AssumeRole, Config, Rejected, session_response, verify_create_session

log = logging.getLogger(__name__)

# Its name among the sandbox's breakable services (AWS's signing name is rolesanywhere_checks.SERVICE).
FAULT = "roles_anywhere"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # A client that connects and stalls must not hold a thread forever.
    timeout = 10

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(400, {"message": "Content-Length is not a number"}, "ValidationException")
            return
        body = self.rfile.read(length) if length else b""
        path = self.path
        if path.split("?")[0] != "/sessions":
            self._send(404, {"message": f"No operation at {path}; CreateSession is POST /sessions"}, "UnknownOperation")
            return
        faults = self.server.faults
        if faults is not None and faults.is_broken(FAULT):
            message = f"The trust anchor is disabled ({reason(FAULT)})"
            self._send(403, {"message": message}, "AccessDeniedException")
            return
        try:
            request = verify_create_session(
                self.server.config, "POST", path, dict(self.headers.items()), body, datetime.now(UTC)
            )
            assumed = self.server.assume_role(
                request.role_arn, request.session_name, request.common_name, request.duration_seconds
            )
        except Rejected as exc:
            log.info("CreateSession rejected (%s): %s", exc.status, exc.message)
            self._send(exc.status, {"message": exc.message}, exc.error_type)
            return
        except Exception:  # the sandbox must answer like a service, not drop the connection
            log.exception("CreateSession failed inside the emulator")
            self._send(500, {"message": "Internal failure in the Roles Anywhere emulator"}, "InternalServerException")
            return
        with self.server.lock:
            self.server.sessions_issued += 1
        self._send(201, session_response(request, assumed, self.server.config.region), None)

    def _send(self, status: int, payload: dict[str, object], error_type: str | None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        # Only the request line and status: never headers (they carry the signature).
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    config: Config
    assume_role: AssumeRole
    lock: threading.Lock
    sessions_issued: int
    faults: Faults | None


class RolesAnywhereEmulator:
    """The emulator on https://127.0.0.1:`port` (0 picks a free port), TLS with the given certificate; while
    `faults` says Roles Anywhere is broken, every CreateSession is denied."""

    def __init__(
        self,
        config: Config,
        assume_role: AssumeRole,
        cert_path: Path,
        key_path: Path,
        faults: Faults | None = None,
        port: int = 0,
    ):
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.faults = faults
        self._server.config = config
        self._server.assume_role = assume_role
        self._server.lock = threading.Lock()
        self._server.sessions_issued = 0
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert_path, key_path)
        # The handshake runs in the request's thread, so one slow client cannot stall the accept loop.
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def sessions_issued(self) -> int:
        """How many CreateSession calls succeeded (lets tests see that credentials are reused)."""
        return self._server.sessions_issued

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> RolesAnywhereEmulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="rolesanywhere-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
