"""Bad input on the wire, end to end: raw sockets against a running scheduler, which closes each
bad connection and keeps serving a normal client."""

from __future__ import annotations

import socket
import struct
from operator import add

import pytest

from oxdask.distributed import Client, LocalCluster

_CLIENT = 1
_VERSION = 1


def _hello() -> bytes:
    # MessagePack {"software": "raw-test"}, written by hand (no msgpack dependency).
    key, value = b"software", b"raw-test"
    return bytes([0x81, 0xA0 | len(key)]) + key + bytes([0xA0 | len(value)]) + value


def _handshake(version: int = _VERSION, role: int = _CLIENT) -> bytes:
    hello = _hello()
    return b"OXDASK" + struct.pack("<HBI", version, role, len(hello)) + hello


def _frame_header(payload_len: int, buffer_lens: list[int] = ()) -> bytes:
    lens = b"".join(struct.pack("<Q", n) for n in buffer_lens)
    return struct.pack("<II", payload_len, len(buffer_lens)) + lens


def _closed_by_server(sock: socket.socket) -> bytes:
    """Everything the scheduler sends until it closes the connection (bounded in time)."""
    sock.settimeout(15)
    got = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as c:
        yield c


_BAD_INPUTS = {
    "garbage": [b"\x00\xffnot oxdask at all\r\n\r\n"],
    "http": [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"],
    "wrong-version": [_handshake(version=999)],
    "oversized-payload": [_handshake(), _frame_header(2**32 - 1)],
    "oversized-buffer": [_handshake(), _frame_header(10, [2**64 - 1])],
    "garbage-message": [_handshake(), _frame_header(3), b"\xc1\xc1\xc1"],
    "unknown-message": [_handshake(), _frame_header(6), b"\x91\xa4junk"],
}


@pytest.mark.parametrize("name", list(_BAD_INPUTS))
def test_bad_input_closes_the_connection_and_the_scheduler_keeps_serving(cluster, name):
    host, port = cluster.scheduler_address.removeprefix("tcp://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        for part in _BAD_INPUTS[name]:
            sock.sendall(part)
        answer = _closed_by_server(sock)
    if name == "wrong-version":
        assert b"protocol version mismatch" in answer
    with Client(cluster, set_as_default=False) as client:
        assert client.submit(add, 40, 2).result(timeout=30) == 42


def test_truncated_frame_then_close(cluster):
    host, port = cluster.scheduler_address.removeprefix("tcp://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(_handshake() + _frame_header(1000) + b"\x91" * 10)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(_handshake()[:9])
    with Client(cluster, set_as_default=False) as client:
        assert client.gather(client.map(add, range(10), range(10))) == list(range(0, 20, 2))
