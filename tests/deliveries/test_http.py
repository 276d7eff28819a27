"""deliveries.http, the one module that makes outgoing requests, against real local sockets.

Servers here are pytest-httpserver for ordinary responses and small raw socket servers for what
an ordinary server will not do (never answer, trickle, lie about Content-Length), each counting
the TCP connections it accepts.
"""

import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer

import pytest
import requests
from werkzeug import Response

from deliveries import http
from deliveries.http import OutgoingRequestError
from tests.servers import read_request

# --- local servers ---------------------------------------------------------------------------


class KeepAliveServer(ThreadingHTTPServer):
    """HTTP/1.1 with keep-alive (pytest-httpserver answers HTTP/1.0 and closes), counting the
    connections it accepts and recording each request's headers."""

    daemon_threads = True

    def __init__(self, family=socket.AF_INET, host="127.0.0.1"):
        self.address_family = family
        self.accepted = 0
        self.requests = []
        super().__init__((host, 0), _KeepAliveHandler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def server_bind(self):
        # HTTPServer.server_bind looks the host's name up, which a loopback server does not need.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]

    @property
    def port(self):
        return self.server_address[1]

    def process_request(self, request, client_address):
        self.accepted += 1
        super().process_request(request, client_address)

    def close(self):
        self.shutdown()
        self.server_close()


class _KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each response waits for a delayed ACK.
    disable_nagle_algorithm = True

    def do_GET(self):
        self.server.requests.append(self.headers)  # looked up case-insensitively
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def keepalive_server():
    server = KeepAliveServer()
    yield server
    server.close()


@pytest.fixture
def allow_private(settings):
    # The test servers are on loopback, which the default policy refuses.
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def refuse_private(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fake_dns(monkeypatch, answers):
    """Make ``socket.getaddrinfo`` answer ``answers[name]`` (a list of IPs, changeable while
    the test runs) for the names given, and ask the real resolver about anything else."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        result = []
        for ip in answers[host]:
            if ipaddress.ip_address(ip).version == 6:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0)))
            else:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)))
        return result

    monkeypatch.setattr(http.socket, "getaddrinfo", getaddrinfo)


def treat_as_public(monkeypatch, ip):
    """Let the guard accept one loopback address, so that a local server can play a public
    receiver while the private-network policy is on."""
    real_reason = http._blocked_reason
    allowed = ipaddress.ip_address(ip)
    monkeypatch.setattr(
        http, "_blocked_reason", lambda addr: None if addr == allowed else real_reason(addr)
    )


# --- ordinary responses ----------------------------------------------------------------------


def test_it_returns_status_body_headers_and_duration(httpserver, allow_private):
    def slow_json(request):
        time.sleep(0.2)
        return Response(
            json.dumps({"received": True}),
            headers={"Content-Type": "application/json", "X-Receiver": "yes"},
        )

    httpserver.expect_request(
        "/hook", method="POST", data=b'{"event": "ping"}', headers={"X-Api-Key": "k-123"}
    ).respond_with_handler(slow_json)

    result = http.request(
        "POST",
        httpserver.url_for("/hook"),
        headers={"X-Api-Key": "k-123", "Content-Type": "application/json"},
        body=b'{"event": "ping"}',
    )

    assert result.status_code == 200  # pytest-httpserver answers 500 when nothing matched
    assert result.ok
    assert json.loads(result.body) == {"received": True}
    assert result.headers["Content-Type"] == "application/json"
    assert result.headers["X-Receiver"] == "yes"
    assert result.truncated is False
    assert 200 <= result.duration_ms < 5000


def test_it_sends_query_params(httpserver, allow_private):
    httpserver.expect_request("/hook", query_string="a=1&b=two").respond_with_data("ok")

    result = http.request("GET", httpserver.url_for("/hook"), params={"a": "1", "b": "two"})

    assert result.status_code == 200
    assert result.body == "ok"


def test_it_names_the_product_in_the_user_agent_unless_told_otherwise(
    keepalive_server, allow_private
):
    url = f"http://127.0.0.1:{keepalive_server.port}/"

    http.request("GET", url)
    http.request("GET", url, headers={"user-agent": "Custom/2.0"})

    assert keepalive_server.requests[0]["User-Agent"] == http.USER_AGENT
    assert http.USER_AGENT.startswith("Hookshot-Webhooks/")
    assert keepalive_server.requests[1]["User-Agent"] == "Custom/2.0"


def test_it_returns_a_non_2xx_status_as_a_result(httpserver, allow_private):
    httpserver.expect_request("/hook").respond_with_data("nope", status=503)

    result = http.request("GET", httpserver.url_for("/hook"))

    assert result.status_code == 503
    assert not result.ok
    assert result.body == "nope"


# --- private networks ------------------------------------------------------------------------

# Every one of these reaches this machine or a private network. The canary listens on the
# loopback ones; for the rest nothing listens and the message shows what the guard saw.
BLOCKED_DESTINATIONS = [
    ("127.0.0.1", "Blocked: loopback address 127.0.0.1"),
    ("127.1", "Blocked: 127.1 resolves to loopback address 127.0.0.1"),
    ("localhost", "Blocked: localhost resolves to loopback address"),
    ("0.0.0.0", "Blocked: unspecified address 0.0.0.0"),
    ("[::1]", "Blocked: loopback address ::1"),
    ("[::ffff:127.0.0.1]", "Blocked: loopback address 127.0.0.1 (inside ::ffff:7f00:1)"),
    ("[::127.0.0.1]", "Blocked: loopback address 127.0.0.1 (inside ::7f00:1)"),
    ("[64:ff9b::7f00:1]", "Blocked: loopback address 127.0.0.1 (inside 64:ff9b::7f00:1)"),
    ("[2002:7f00:1::1]", "Blocked: loopback address 127.0.0.1 (inside 2002:7f00:1::1)"),
    ("2130706433", "Blocked: 2130706433 resolves to loopback address 127.0.0.1"),
    ("0x7f000001", "Blocked: 0x7f000001 resolves to loopback address 127.0.0.1"),
    ("0177.0.0.1", "Blocked: 0177.0.0.1 resolves to loopback address 127.0.0.1"),
    ("10.0.0.5", "Blocked: private address 10.0.0.5"),
    ("172.16.0.1", "Blocked: private address 172.16.0.1"),
    ("192.168.1.1", "Blocked: private address 192.168.1.1"),
    ("100.64.0.1", "Blocked: carrier-grade NAT address 100.64.0.1"),
    ("169.254.169.254", "Blocked: cloud metadata address 169.254.169.254"),
    ("[fd00:ec2::254]", "Blocked: cloud metadata address fd00:ec2::254"),
    ("[fe80::1]", "Blocked: link-local address fe80::1"),
]


@pytest.mark.parametrize(("host", "message"), BLOCKED_DESTINATIONS)
def test_it_refuses_private_destinations_without_connecting(host, message, canary, refuse_private):
    url = f"http://{host}:{canary.port}/hook"

    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("POST", url, body=b"{}", timeout=1)

    assert excinfo.value.kind == "blocked"
    if host == "localhost":  # ::1 or 127.0.0.1 first, depending on /etc/hosts
        assert excinfo.value.message.startswith(message)
    else:
        assert excinfo.value.message == message
    assert canary.connections() == 0


@pytest.mark.parametrize(("host", "message"), BLOCKED_DESTINATIONS)
def test_check_destination_refuses_private_destinations(host, message, refuse_private):
    with pytest.raises(OutgoingRequestError) as excinfo:
        http.check_destination(f"https://{host}/hook")

    assert excinfo.value.kind == "blocked"
    assert excinfo.value.message.startswith(message)


def test_the_canary_does_count_connections(canary, allow_private):
    # Without this, a canary that could not see connections would pass the tests above.
    with pytest.raises(OutgoingRequestError):
        http.request("GET", f"http://127.0.0.1:{canary.port}/", timeout=0.5)

    assert canary.connections() == 1


def test_private_destinations_are_allowed_when_the_setting_says_so(httpserver, allow_private):
    httpserver.expect_request("/hook").respond_with_data("ok")

    http.check_destination(httpserver.url_for("/hook"))
    assert http.request("GET", httpserver.url_for("/hook")).body == "ok"


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "127.255.255.254",
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "100.127.255.254",
        "169.254.169.254",
        "169.254.1.1",
        "192.0.0.9",
        "192.0.2.1",
        "198.18.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.5",
        "::127.0.0.1",
        "::8.8.8.8",  # IPv4-compatible is deprecated: refused even around a public address
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::a00:5",
        "2002:7f00:1::1",
        "2002:a00:5::1",
        "2002:808:808::1",  # 6to4 could reach our own network's 6to4 gateway
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, public client
        "fd00:ec2::254",
        "fc00::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "3fff::1",
    ],
)
def test_is_blocked_address_refuses(ip):
    assert http.is_blocked_address(ipaddress.ip_address(ip))


@pytest.mark.parametrize(
    "ip",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.215.14",
        "100.128.0.1",  # just past carrier-grade NAT
        "2606:4700:4700::1111",
        "2a00:1450:4001:82b::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",  # NAT64 is how IPv6-only hosts reach public IPv4
    ],
)
def test_is_blocked_address_allows_public_addresses(ip):
    assert not http.is_blocked_address(ipaddress.ip_address(ip))


def test_a_name_with_any_private_answer_is_refused(monkeypatch, canary, refuse_private):
    fake_dns(monkeypatch, {"mixed.example": ["93.184.215.14", "10.0.0.5"]})

    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("GET", f"http://mixed.example:{canary.port}/", timeout=1)

    assert excinfo.value.kind == "blocked"
    assert excinfo.value.message == "Blocked: mixed.example resolves to private address 10.0.0.5"
    assert canary.connections() == 0


@pytest.mark.parametrize(
    ("family", "ip"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")], ids=["v4", "v6"]
)
def test_it_connects_to_the_checked_address_and_checks_again_on_every_request(
    monkeypatch, refuse_private, family, ip
):
    treat_as_public(monkeypatch, ip)
    answers = {"receiver.example": [ip]}
    fake_dns(monkeypatch, answers)
    server = KeepAliveServer(family, ip)
    try:
        session = http.new_session()
        url = f"http://receiver.example:{server.port}/hook"

        assert http.request("GET", url, session=session).status_code == 200
        assert http.request("GET", url, session=session).status_code == 200
        answers["receiver.example"] = ["10.0.0.5"]
        with pytest.raises(OutgoingRequestError) as excinfo:
            http.request("GET", url, session=session)
    finally:
        server.close()

    assert excinfo.value.kind == "blocked"
    assert excinfo.value.message == (
        "Blocked: receiver.example resolves to private address 10.0.0.5"
    )
    # The Host header names the receiver, not the address we connected to ...
    assert [r["Host"] for r in server.requests] == [f"receiver.example:{server.port}"] * 2
    # ... and the connection was reused though the pool is keyed by address.
    assert server.accepted == 1


# --- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_it_returns_redirects_without_following_them(httpserver, canary, allow_private, status):
    target = f"http://127.0.0.1:{canary.port}/elsewhere"
    httpserver.expect_request("/hook").respond_with_data(
        "", status=status, headers={"Location": target}
    )

    result = http.request(
        "POST", httpserver.url_for("/hook"), headers={"X-Api-Key": "secret"}, timeout=2
    )

    assert result.status_code == status
    assert not result.ok
    assert result.headers["Location"] == target
    assert canary.connections() == 0


def test_a_session_does_not_follow_redirects_even_when_asked(httpserver, canary, allow_private):
    target = f"http://127.0.0.1:{canary.port}/elsewhere"
    httpserver.expect_request("/hook").respond_with_data(
        "", status=302, headers={"Location": target}
    )

    response = http.new_session().get(httpserver.url_for("/hook"), allow_redirects=True, timeout=2)

    assert response.status_code == 302
    assert canary.connections() == 0


def test_a_session_ignores_proxies_from_the_environment(
    keepalive_server, canary, allow_private, monkeypatch
):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{canary.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    result = http.request("GET", f"http://127.0.0.1:{keepalive_server.port}/", timeout=2)

    assert result.status_code == 200
    assert canary.connections() == 0


# --- timeouts --------------------------------------------------------------------------------


def test_it_times_out_when_the_receiver_never_answers(raw_server, allow_private):
    def silent(conn, stop):
        read_request(conn)
        stop.wait(10)

    server = raw_server(silent)
    started = time.monotonic()

    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("POST", server.url("/"), body=b"{}", timeout=1)

    elapsed = time.monotonic() - started
    assert excinfo.value.kind == "timeout"
    assert excinfo.value.message == "Timed out after 1 s"
    assert 0.9 <= elapsed < 2


@pytest.mark.parametrize(
    ("head", "byte"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", b"x"),  # the body
        (b"HTTP/1.1 200 OK\r\nX-Slow: ", b"x"),  # a header line
        (b"", b"H"),  # the status line
    ],
    ids=["body", "header", "status line"],
)
def test_the_timeout_is_a_total_for_a_receiver_that_trickles(raw_server, allow_private, head, byte):
    # Each byte arrives well within any per-read timeout, so only a total deadline stops this.
    # 20 bytes and no more, so that a broken deadline fails the test instead of hanging it.
    def trickle(conn, stop):
        read_request(conn)
        conn.sendall(head)
        for _ in range(20):
            if stop.wait(0.5):
                return
            conn.sendall(byte)

    server = raw_server(trickle)
    started = time.monotonic()

    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("GET", server.url("/"), timeout=1.5)

    elapsed = time.monotonic() - started
    assert excinfo.value.kind == "timeout"
    assert excinfo.value.message == "Timed out after 1.5 s"
    assert 1.4 <= elapsed < 2


def test_the_timeout_covers_a_body_that_stops_mid_way(raw_server, allow_private):
    # A read timeout counted from the last byte would wait a full 1.5 s after the byte at 1 s.
    def stall(conn, stop):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        stop.wait(1)
        conn.sendall(b"x")
        stop.wait(10)

    server = raw_server(stall)
    started = time.monotonic()

    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("GET", server.url("/"), timeout=1.5)

    elapsed = time.monotonic() - started
    assert excinfo.value.kind == "timeout"
    assert 1.4 <= elapsed < 2


# --- bodies ----------------------------------------------------------------------------------

FIVE_MB = 5 * 1024 * 1024


def test_it_keeps_only_the_first_max_body_bytes(raw_server, allow_private):
    block = memoryview(b"a" * 65536)

    def big(conn, stop):
        read_request(conn)
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {FIVE_MB}\r\n\r\n".encode())
        for _ in range(FIVE_MB // len(block)):
            conn.sendall(block)

    server = raw_server(big)
    tracemalloc.start()
    try:
        result = http.request("GET", server.url("/"), max_body_bytes=64 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.status_code == 200
    assert result.truncated is True
    assert len(result.body) == 64 * 1024
    assert set(result.body) == {"a"}
    # Reading all 5 MB and cutting afterwards would peak above 5 MB.
    assert peak < 1024 * 1024


def test_a_body_of_exactly_max_body_bytes_is_not_truncated(httpserver, allow_private):
    httpserver.expect_request("/hook").respond_with_data("b" * 1000)

    result = http.request("GET", httpserver.url_for("/hook"), max_body_bytes=1000)

    assert result.truncated is False
    assert result.body == "b" * 1000


def test_invalid_utf8_is_replaced_not_fatal(httpserver, allow_private):
    httpserver.expect_request("/hook").respond_with_data(b"caf\xe9 ok")

    result = http.request("GET", httpserver.url_for("/hook"))

    assert result.body == "caf\ufffd ok"


# --- connection failures ---------------------------------------------------------------------


def test_a_closed_port_is_connection_refused(allow_private):
    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("GET", f"http://127.0.0.1:{free_port()}/", timeout=2)

    assert excinfo.value.kind == "connection"
    assert excinfo.value.message == "Connection refused"


def test_a_receiver_closing_mid_body_is_a_connection_error(raw_server, allow_private):
    def short(conn, stop):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)

    server = raw_server(short)

    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("GET", server.url("/"), timeout=2)

    assert excinfo.value.kind == "connection"
    assert excinfo.value.message == "Connection closed by the receiver"


def test_a_receiver_closing_before_answering_is_a_connection_error(raw_server, allow_private):
    server = raw_server(lambda conn, stop: read_request(conn))

    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("GET", server.url("/"), timeout=2)

    assert excinfo.value.kind == "connection"
    assert excinfo.value.message == "Connection closed by the receiver"


@pytest.mark.parametrize("allow", [True, False])
def test_an_unknown_host_is_a_dns_error(settings, allow):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = allow

    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("GET", "http://example.invalid/hook", timeout=5)

    assert excinfo.value.kind == "dns"
    assert excinfo.value.message == "DNS lookup failed for example.invalid"


def test_https_to_a_plain_http_server_is_a_tls_error(httpserver, allow_private):
    httpserver.expect_request("/hook").respond_with_data("ok")
    url = httpserver.url_for("/hook").replace("http://", "https://")

    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("GET", url, timeout=2)

    assert excinfo.value.kind == "tls"
    assert excinfo.value.message.startswith("TLS error: ")


def make_certificate(directory, dns_name):
    """A self-signed certificate for ``dns_name`` and 127.0.0.1: (cert path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)])
    now = datetime.datetime.now(datetime.UTC)
    san = [x509.DNSName(dns_name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{dns_name}.pem", directory / f"{dns_name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def receiver_cert(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"), "receiver.example")


def test_an_untrusted_certificate_is_a_tls_error(raw_server, receiver_cert, allow_private):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*receiver_cert)

    def tls(conn, stop):
        with context.wrap_socket(conn, server_side=True) as tls_conn:
            read_request(tls_conn)

    server = raw_server(tls)

    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("GET", server.url("/").replace("http://", "https://"), timeout=2)

    assert excinfo.value.kind == "tls"
    assert excinfo.value.message.startswith("TLS error: certificate verify failed: self")


def test_https_to_the_checked_address_verifies_the_certificate_for_the_name(
    raw_server, receiver_cert, monkeypatch, refuse_private
):
    treat_as_public(monkeypatch, "127.0.0.1")
    fake_dns(monkeypatch, {"receiver.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*receiver_cert)
    server_names, heads = [], []
    context.sni_callback = lambda tls_conn, name, ctx: server_names.append(name)

    def tls(conn, stop):
        with context.wrap_socket(conn, server_side=True) as tls_conn:
            heads.append(read_request(tls_conn))
            tls_conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = raw_server(tls)
    session = http.new_session()
    session.verify = str(receiver_cert[0])  # trust the test certificate, and only it

    result = http.request("GET", f"https://receiver.example:{server.port}/hook", session=session)
    with pytest.raises(OutgoingRequestError) as excinfo:
        http.request("GET", f"https://other.example:{server.port}/hook", session=session)

    assert result.body == "ok"
    assert server_names == ["receiver.example", "other.example"]
    assert f"Host: receiver.example:{server.port}".encode() in heads[0]
    assert excinfo.value.kind == "tls"
    assert excinfo.value.message.startswith("TLS error: certificate verify failed")
    assert "other.example" in excinfo.value.message


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1:{port}/file", "Unsupported URL scheme: ftp (use http or https)"),
        ("javascript:alert(1)", "Unsupported URL scheme: javascript (use http or https)"),
        ("file:///etc/passwd", "Unsupported URL scheme: file (use http or https)"),
        ("localhost:{port}/hook", "Unsupported URL scheme: localhost (use http or https)"),
        ("127.0.0.1:{port}/hook", "URL must start with http:// or https://"),
        ("//127.0.0.1:{port}/hook", "URL must start with http:// or https://"),
        (
            "http://user:secret@127.0.0.1:{port}/",
            "URLs with a user name or password are not allowed",
        ),
        ("http://user@127.0.0.1:{port}/", "URLs with a user name or password are not allowed"),
        ("http:///hook", "URL has no host"),
        ("http://127.0.0.1:99999/", "Invalid URL"),
        ("http://127.0.0.1:{port}/a b", "URL contains spaces or control characters"),
        ("http://127.0.0.1:{port}/\r\nX-Injected: 1", "URL contains spaces or control characters"),
    ],
)
def test_it_refuses_invalid_urls_before_connecting(url, message, canary, allow_private):
    url = url.format(port=canary.port)

    with pytest.raises(OutgoingRequestError) as request_error:
        http.request("POST", url, timeout=1)
    with pytest.raises(OutgoingRequestError) as check_error:
        http.check_destination(url)

    assert (request_error.value.kind, request_error.value.message) == ("invalid_url", message)
    assert (check_error.value.kind, check_error.value.message) == ("invalid_url", message)
    assert canary.connections() == 0


# --- keep-alive ------------------------------------------------------------------------------


def test_one_session_reuses_one_connection(keepalive_server, allow_private):
    url = f"http://127.0.0.1:{keepalive_server.port}/hook"
    session = http.new_session()

    results = [http.request("GET", url, session=session) for _ in range(20)]

    assert [r.status_code for r in results] == [200] * 20
    assert len(keepalive_server.requests) == 20
    assert keepalive_server.accepted == 1


def test_without_a_session_each_request_opens_a_connection(keepalive_server, allow_private):
    # The counter above is only worth something if it sees new connections.
    url = f"http://127.0.0.1:{keepalive_server.port}/hook"

    http.request("GET", url)
    http.request("GET", url)

    assert keepalive_server.accepted == 2


def test_it_refuses_a_session_without_the_guard(keepalive_server, allow_private):
    with pytest.raises(TypeError):
        http.request(
            "GET", f"http://127.0.0.1:{keepalive_server.port}/", session=requests.Session()
        )
    assert keepalive_server.accepted == 0
