"""What the attack tests share: a canary that counts every connection made to it, and a
network fence that keeps these tests on loopback even if the guard under test were broken.

This machine's resolver and any private range are off limits: a broken SSRF guard must make a
test fail, never send a packet to 10.x or to the DNS server. The fence stubs the resolver
(numeric hosts and a few test names only) and refuses, and records, any connect() to an
address outside 127.0.0.0/8 and ::1.
"""

import ipaddress
import socket

import pytest

# Names the stub resolver knows, each with its answers (in order). Everything else that is not
# a numeric address fails to resolve, as if it did not exist: no query ever leaves.
PUBLIC = "93.184.216.34"
TEST_NAMES = {
    "localhost": ["127.0.0.1", "::1"],
    "internal.hookshot.test": ["10.0.0.5"],
    "metadata.hookshot.test": ["169.254.169.254"],
    "loopback.hookshot.test": ["127.0.0.1"],
    "v6-loopback.hookshot.test": ["::1"],
    "cgnat.hookshot.test": ["100.64.0.9"],
    "mixed.hookshot.test": [PUBLIC, "127.0.0.1"],
    "mixed-last.hookshot.test": [PUBLIC, PUBLIC, "10.1.2.3"],
    "mixed-v6.hookshot.test": [PUBLIC, "fd00::1"],
}


class Fence:
    def __init__(self):
        self.names = dict(TEST_NAMES)
        self.lookups: list[str] = []
        self.refused: list[tuple] = []  # connects outside loopback: each one is a failure


@pytest.fixture
def fence(monkeypatch):
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    state = Fence()

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        state.lookups.append(name)
        try:
            return real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            pass
        answers = state.names.get((name or "").lower().rstrip("."))
        if answers is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if callable(answers):
            answers = answers()
        port = int(port or 0)
        result = []
        for address in answers:
            ip = ipaddress.ip_address(address)
            fam = socket.AF_INET if ip.version == 4 else socket.AF_INET6
            if family not in (0, socket.AF_UNSPEC, fam):
                continue
            sockaddr = (address, port) if fam == socket.AF_INET else (address, port, 0, 0)
            result.append((fam, socket.SOCK_STREAM, 6, "", sockaddr))
        if not result:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return result

    def allowed(sock, address) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return True  # unix sockets (embedded Redis)
        ip = ipaddress.ip_address(address[0].partition("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip.is_loopback:
            return True
        state.refused.append(address)
        return False

    def connect(sock, address):
        if not allowed(sock, address):
            raise ConnectionRefusedError(111, "refused by the test fence")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if not allowed(sock, address):
            return 111
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return state


@pytest.fixture
def acme_objects(acme, alice):
    from tests.security.routes import make_acme_objects

    return make_acme_objects(acme)
