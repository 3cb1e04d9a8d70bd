"""CA certificates given as PEM text in settings, written to the files libpq (`sslrootcert`) and URL-configured
Valkey clients (RQ, rq-dashboard: `ssl_ca_certs`) take a path of."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import tempfile


@functools.lru_cache(maxsize=8)
def ca_file(pem: str) -> str:
    """The path of a file holding `pem`, written once per process and removed when it exits. A CA certificate
    is public; the file is private (0600) so no other local user can swap the CA it names."""
    fd, path = tempfile.mkstemp(prefix="hybrid-monitor-ca-", suffix=".pem")
    with os.fdopen(fd, "w") as file:
        file.write(pem)
    atexit.register(_remove, path, os.getpid())
    return path


def _remove(path: str, owner_pid: int) -> None:
    # A forked child (an RQ work-horse) that runs atexit must not remove the file its parent still uses.
    if os.getpid() == owner_pid:
        with contextlib.suppress(OSError):
            os.unlink(path)
