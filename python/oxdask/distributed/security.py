"""Who may talk to a cluster: TLS settings and a shared token (Dask's ``Security``).

Mutual TLS: every endpoint (scheduler, workers, clients) presents a certificate signed by one CA
and checks the other side's against it; addresses are then ``tls://``. The token is a shared
secret checked during the handshake, before anything a peer sends is unpickled. Either one
protects a cluster; a scheduler or worker listening on a non-loopback address with neither
refuses to start unless told ``insecure``, because anyone who can reach an open scheduler can
run code on every worker.

Certificates and keys may be given as file paths or as PEM text, as in Dask.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile

from oxdask import _core

__all__ = ["Security"]

_ROLES = ("client", "scheduler", "worker")
_UNSUPPORTED = ("tls_ciphers", "tls_min_version", "tls_max_version", "extra_conn_args")


def _is_pem(value: str | None) -> bool:
    return value is not None and "-----BEGIN " in value


class Security:
    """TLS settings and shared secret of a cluster's connections.

    Parameters
    ----------
    require_encryption : bool, optional
        Refuse unencrypted (``tcp://``) connections: a client given a ``tcp://`` address raises.
        Default False (True for :meth:`temporary`).
    tls_ca_file : str, optional
        CA certificate(s) every endpoint's certificate must be signed by (path or PEM text).
    tls_client_cert, tls_client_key : str, optional
        The client's certificate and private key. The key may be omitted when the certificate
        file also holds it.
    tls_scheduler_cert, tls_scheduler_key : str, optional
        The scheduler's certificate and private key.
    tls_worker_cert, tls_worker_key : str, optional
        The workers' certificate and private key.
    token : str, optional
        Shared secret every client and worker must present (default: ``OXDASK_TOKEN``).

    .. note::
       oxdask uses rustls with its safe defaults (TLS 1.2 and 1.3, modern cipher suites):
       ``tls_ciphers``, ``tls_min_version`` and ``tls_max_version`` cannot be set. Host names in
       certificates are not checked, as in Dask: trust comes from the CA alone. ``token`` is
       oxdask's own.
    """

    def __init__(
        self,
        require_encryption: bool | None = None,
        *,
        tls_ca_file: str | None = None,
        tls_client_cert: str | None = None,
        tls_client_key: str | None = None,
        tls_scheduler_cert: str | None = None,
        tls_scheduler_key: str | None = None,
        tls_worker_cert: str | None = None,
        tls_worker_key: str | None = None,
        token: str | None = None,
        **kwargs,
    ) -> None:
        for name, value in kwargs.items():
            if name in _UNSUPPORTED and value is None:
                continue
            if name in _UNSUPPORTED:
                raise ValueError(
                    f"Security({name}=...) is not supported: oxdask uses rustls' safe defaults "
                    "(TLS 1.2 and 1.3, modern cipher suites)"
                )
            raise TypeError(f"Security() got an unexpected keyword argument {name!r}")
        self.require_encryption = bool(require_encryption)
        self.tls_ca_file = tls_ca_file
        self.tls_client_cert = tls_client_cert
        self.tls_client_key = tls_client_key
        self.tls_scheduler_cert = tls_scheduler_cert
        self.tls_scheduler_key = tls_scheduler_key
        self.tls_worker_cert = tls_worker_cert
        self.tls_worker_key = tls_worker_key
        self.token = token
        for role in _ROLES:
            tls = self._tls(role)
            if tls is not None:
                _core.check_tls(*tls)

    @classmethod
    def temporary(cls, **kwargs) -> Security:
        """Security with a throw-away CA and certificate, generated in memory.

        For a cluster on one machine (the certificate names ``localhost`` and ``127.0.0.1``)
        and for tests; nothing else can be signed by the CA, whose key is discarded.
        ``require_encryption`` defaults to True.
        """
        ca, cert, key = _core.temporary_pki()
        kwargs.setdefault("require_encryption", True)
        for role in _ROLES:
            kwargs.setdefault(f"tls_{role}_cert", cert)
            kwargs.setdefault(f"tls_{role}_key", key)
        return cls(tls_ca_file=ca, **kwargs)

    def _tls(self, role: str) -> tuple[str, str, str | None] | None:
        """``(ca, cert, key)`` for ``role``, or None when it has no certificate."""
        if role not in _ROLES:
            raise ValueError(f"unknown role {role!r}: expected one of {', '.join(_ROLES)}")
        cert = getattr(self, f"tls_{role}_cert")
        key = getattr(self, f"tls_{role}_key")
        if cert is None and key is None:
            return None
        if cert is None:
            raise ValueError(f"tls_{role}_key is set but tls_{role}_cert is not")
        if self.tls_ca_file is None:
            raise ValueError(f"tls_{role}_cert needs tls_ca_file (the CA that signed it)")
        return (self.tls_ca_file, cert, key)

    def get_tls_config_for_role(self, role: str) -> dict:
        """``{"ca_file": ..., "cert": ..., "key": ...}`` for ``role`` (values may be None)."""
        tls = self._tls(role)
        ca, cert, key = tls if tls is not None else (self.tls_ca_file, None, None)
        return {"ca_file": ca, "cert": cert, "key": key}

    def __repr__(self) -> str:
        def show(value):
            return "Temporary (In-memory)" if _is_pem(value) else repr(value)

        fields = ["tls_ca_file"] + [f"tls_{r}_{k}" for r in _ROLES for k in ("cert", "key")]
        items = [f"require_encryption={self.require_encryption}"]
        items += [f"{f}={show(getattr(self, f))}" for f in fields if getattr(self, f) is not None]
        if self.token is not None:
            items.append("token=<redacted>")
        return f"Security({', '.join(items)})"


def _resolve(security) -> Security | None:
    """``security=True`` means :meth:`Security.temporary`."""
    if security is True:
        return Security.temporary()
    if security is None or security is False:
        return None
    if not isinstance(security, Security):
        raise TypeError(f"security must be a Security object or True, not {security!r}")
    return security


def _token(token: str | None, security: Security | None) -> str | None:
    """The explicit token, else the Security's, else ``OXDASK_TOKEN``."""
    if token is not None:
        return token
    if security is not None and security.token is not None:
        return security.token
    return os.environ.get("OXDASK_TOKEN") or None


def _client_address(address: str, security: Security | None) -> str:
    """Adds the scheme (``tls://`` when the client has a certificate) and enforces
    ``require_encryption``."""
    has_tls = security is not None and security._tls("client") is not None
    if "://" not in address:
        address = ("tls://" if has_tls else "tcp://") + address
    if security is not None and security.require_encryption and not address.startswith("tls://"):
        raise ValueError(
            f"require_encryption is set but {address} is not encrypted: use its tls:// address"
        )
    return address


def refuse_open_listener(host: str, protected: bool, insecure: bool, what: str) -> None:
    """Raise ``PermissionError`` if ``host`` is reachable from other machines while nothing
    protects the listener (secure by default)."""
    if protected or insecure or _is_loopback(host):
        return
    raise PermissionError(
        f"refusing to listen on {host} without TLS or a token: anyone who can reach an open "
        f"{what} can run code on every worker. Configure TLS (--tls-ca-file, --tls-cert, "
        "--tls-key; security= in Python) or a token (OXDASK_TOKEN), or accept the risk "
        "explicitly (--insecure; insecure=True in Python)"
    )


def _is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host or None, None)
    except OSError:
        return False  # cannot tell: treat as exposed
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


class _PemFiles:
    """Inline PEM written to private files, for worker processes that take paths."""

    def __init__(self) -> None:
        self._dir: str | None = None

    def path(self, value: str | None, name: str) -> str | None:
        if value is None or not _is_pem(value):
            return value
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="oxdask-tls-")  # mode 0700
        path = os.path.join(self._dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        return path

    def cleanup(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _worker_cli_args(security: Security | None, files: _PemFiles) -> list[str]:
    """``--tls-*`` arguments giving a worker process the worker role's settings."""
    tls = security._tls("worker") if security is not None else None
    if tls is None:
        return []
    ca, cert, key = tls
    args = ["--tls-ca-file", files.path(ca, "ca.pem"), "--tls-cert", files.path(cert, "cert.pem")]
    if key is not None:
        args += ["--tls-key", files.path(key, "key.pem")]
    return args


def _read_token_file(path: str | None) -> str | None:
    """The token in ``path`` (its first line), for ``--token-file``."""
    if path is None:
        return None
    with open(path, encoding="utf-8") as f:
        token = f.readline().strip()
    if not token:
        raise ValueError(f"token file {path} is empty")
    return token


def _cli_tls(ca: str | None, cert: str | None, key: str | None):
    """``(ca, cert, key)`` from the ``--tls-*`` flags, None if none is given."""
    if ca is None and cert is None and key is None:
        return None
    if ca is None or cert is None:
        raise ValueError("TLS needs both --tls-ca-file and --tls-cert (and --tls-key)")
    return (ca, cert, key)


def add_cli_arguments(parser) -> None:
    """The security flags shared by ``oxdask scheduler`` and ``oxdask worker``."""
    g = parser.add_argument_group("security")
    g.add_argument("--tls-ca-file", help="CA certificate(s) (PEM) peers must be signed by")
    g.add_argument("--tls-cert", help="this endpoint's certificate (PEM)")
    g.add_argument("--tls-key", help="its private key (PEM; omit if in the certificate file)")
    g.add_argument(
        "--token-file",
        help="file whose first line is the shared token (default: the OXDASK_TOKEN variable)",
    )
    g.add_argument(
        "--insecure",
        action="store_true",
        help="allow listening on a non-loopback address with neither TLS nor a token",
    )


def from_cli(args) -> tuple[tuple[str, str, str | None] | None, str | None]:
    """``(tls, token)`` from parsed :func:`add_cli_arguments` flags and the environment."""
    tls = _cli_tls(args.tls_ca_file, args.tls_cert, args.tls_key)
    token = _read_token_file(args.token_file) or os.environ.get("OXDASK_TOKEN") or None
    return tls, token
