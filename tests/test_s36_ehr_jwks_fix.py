"""`cds-service check --connect` (and the start-up's WARNING) said why a client's JWK Set could not be had
("unavailable: ConnectionError", "HTTP 302 redirect, not followed") but not what to change. Each failure now ends
with the fix, against real key hosts on loopback: one answering, one with a certificate no trusted CA signed, and a
port where nothing listens."""
from __future__ import annotations

import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cds_service.cli import main
from tests.test_auth import JwksServer
from tests.test_cli_check import _with_key_url


def check_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               url: str) -> str:
    """The one line `check --connect` prints for the client's key set, which must fail the check."""
    _with_key_url(tmp_path, monkeypatch, url)
    assert main(["check", "--connect"]) == 2
    [line] = [line for line in capsys.readouterr().err.splitlines() if "JWK Set" in line]
    prefix = f"cds-service check: client https://ehr.example.org: JWK Set {url} unavailable: "
    assert line.startswith(prefix)
    return line.removeprefix(prefix)


@pytest.fixture
def key_host() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


@pytest.mark.parametrize(("answer", "said"), [
    ((302, {"Location": "https://keys.example.org/jwks.json", "Content-Length": "0"}, b""),
     "HTTP 302 redirect, not followed; the key host sends it elsewhere: give the URL it leads to (https) as the "
     "client's jwks_url"),
    ((403, {"Content-Length": "0"}, b""),
     "HTTP 403; the key host has no JWK Set for this machine at that URL: check the client's jwks_url"),
    ((502, {"Content-Length": "0"}, b""), "HTTP 502; the key host is failing at that URL: its owner must fix it"),
    ((200, {"Content-Length": "13"}, b'{"keys": "x"}'),
     "no list of keys; the URL answers with no JWK Set of public signing keys: check the client's jwks_url"),
])
def test_an_answer_that_is_no_key_set_names_the_fix(
        tmp_path: Path, key_host: JwksServer, answer: tuple[int, dict[str, str], bytes], said: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    key_host.answer = answer
    assert check_says(tmp_path, monkeypatch, capsys, key_host.url) == said


def test_a_port_where_nothing_listens_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port just free: nothing listens there once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert check_says(tmp_path, monkeypatch, capsys, f"http://127.0.0.1:{port}/jwks.json") == (
        "ConnectionError; nothing answers at its host and port from this machine: check the client's jwks_url, and "
        "a firewall or proxy (HTTPS_PROXY, NO_PROXY) on the way")


def _self_signed(folder: Path) -> ssl.SSLContext:
    """A TLS server context whose certificate no CA signed (as a hospital's private CA's looks to certifi)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


class _Quiet(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name): never reached, the handshake fails first
        self.send_error(500)

    def log_message(self, *_args: object) -> None:
        pass


def test_a_certificate_no_trusted_ca_signed_names_the_ca_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Quiet)
    server.socket = _self_signed(tmp_path).wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        said = check_says(tmp_path, monkeypatch, capsys, f"https://127.0.0.1:{server.server_address[1]}/jwks.json")
    finally:
        server.shutdown()
        server.server_close()
    assert said == ("SSLError; its certificate is not signed by a CA trusted here: name a PEM file holding that CA in "
                    "REQUESTS_CA_BUNDLE")
