"""The one module that makes outgoing HTTP requests.

Receiver URLs are typed in by users, so every request to one is a request that somebody else
aims from inside our network. Keeping all outgoing HTTP here means the rules that make that safe
hold everywhere, and a reviewer can check them in one file:

- http and https only, no credentials in the URL;
- a total deadline, including the time spent reading the body, and a cap on how much of the body
  we keep (a receiver must not be able to hold a worker or fill its memory);
- no redirects: a 3xx is the receiver's answer (requests would follow it and send our headers,
  signatures included, to wherever it points);
- unless ``settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS`` is on, the host is resolved once per
  request, every address it resolves to is checked, and the connection goes to the checked
  address, so neither a redirect nor a DNS answer that changes between check and connect can
  reach a private address;
- every failure becomes an ``OutgoingRequestError`` whose ``kind`` the caller can branch on and
  whose ``message`` is short enough to show a user.

Counter-example: ``requests.post(url, json=payload)`` has no timeout, follows redirects,
trusts proxy variables from the environment and connects to 169.254.169.254 if asked to.

Known limits: ``getaddrinfo`` takes no timeout, so DNS is bounded by the resolver's settings
rather than by ``timeout`` (it does count against the deadline of what follows), and the TLS
handshake is bounded per read by the connect timeout rather than by the deadline. The worker's
job timeout is the backstop for both.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3.connection
import urllib3.exceptions
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import select_proxy
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import Timeout
from urllib3.util.connection import HAS_IPV6
from urllib3.util.ssl_match_hostname import CertificateError

USER_AGENT = "Hookshot-Webhooks/1.0 (+outgoing webhooks)"
MAX_BODY_BYTES = 64 * 1024

# A receiver that cannot accept a TCP connection in 10 s is down; waiting longer only holds a
# worker, even when the caller allows more time for the response itself.
MAX_CONNECT_TIMEOUT = 10
_READ_CHUNK = 16 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutgoingRequestError(Exception):
    """A request that produced no HTTP response.

    ``kind`` is one of "blocked", "dns", "timeout", "connection", "tls", "invalid_url",
    "invalid_header"; ``message`` is a short sentence fit for a delivery log. It never quotes
    a header value: those carry credentials.
    """

    KINDS = ("blocked", "dns", "timeout", "connection", "tls", "invalid_url", "invalid_header")

    def __init__(self, kind: str, message: str):
        assert kind in self.KINDS, kind
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __repr__(self) -> str:
        return f"OutgoingRequestError({self.kind!r}, {self.message!r})"


@dataclass
class HTTPResult:
    status_code: int
    headers: dict[str, str]
    body: str
    truncated: bool
    duration_ms: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


# --- which addresses we refuse ---------------------------------------------------------------

_net = ipaddress.ip_network

_CLOUD_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, DigitalOcean, OpenStack ...
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}
_CARRIER_GRADE_NAT = _net("100.64.0.0/10")
# Listed by hand because Python 3.11's ipaddress calls some of them global: it is not an SSRF
# guard on its own (DESIGN.md, "Traps measured").
_NOT_PUBLIC_V4 = (
    _net("192.0.0.0/24"),  # IETF protocol assignments
    _net("198.18.0.0/15"),  # benchmarking
    _net("192.88.99.0/24"),  # 6to4 relay anycast
)
_NOT_PUBLIC_V6 = (
    _net("3fff::/20"),  # documentation
    _net("5f00::/16"),  # segment routing
    _net("2001:20::/28"),  # ORCHIDv2
)
_IPV4_COMPATIBLE = _net("::/96")
_NAT64_WELL_KNOWN = _net("64:ff9b::/96")
# A local-use NAT64 prefix may place the IPv4 address at several offsets, and whatever it
# translates to is by definition on the operator's network.
_NAT64_LOCAL_USE = _net("64:ff9b:1::/48")


def _blocked_reason(ip: IPAddress) -> tuple[str, IPAddress] | None:
    """Why a request must not go to ``ip``, or None when it may.

    Returns a word or two and the address they apply to: the IPv4 address hidden in an IPv6
    one when that is what makes it unsafe, since that is what the user will recognise.
    """
    if isinstance(ip, ipaddress.IPv6Address) and not (ip.is_unspecified or ip.is_loopback):
        # IPv4 hidden in IPv6 reaches the IPv4 address (the kernel, a NAT64 gateway or a tunnel
        # unwraps it), while ipaddress judges only the IPv6 form and calls most of it global.
        if ip.ipv4_mapped is not None:
            return _blocked_reason(ip.ipv4_mapped)
        if ip in _NAT64_WELL_KNOWN:
            return _blocked_reason(_last_32_bits(ip))
        if ip in _NAT64_LOCAL_USE:
            return "private", ip
        # The three below are deprecated, and a public IPv4 inside does not make them safe: a
        # 6to4 or Teredo gateway on our own network would route them inside. Refuse them all,
        # naming the embedded address when it is itself the problem.
        if ip in _IPV4_COMPATIBLE:
            return _blocked_reason(_last_32_bits(ip)) or ("IPv4-compatible", ip)
        if ip.sixtofour is not None:
            return _blocked_reason(ip.sixtofour) or ("6to4", ip)
        if ip.teredo is not None:
            server, client = ip.teredo
            return _blocked_reason(client) or _blocked_reason(server) or ("Teredo", ip)
    reason = _direct_reason(ip)
    return (reason, ip) if reason else None


def _last_32_bits(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


def _direct_reason(ip: IPAddress) -> str | None:
    if ip in _CLOUD_METADATA:
        return "cloud metadata"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address):
        if ip in _CARRIER_GRADE_NAT:
            return "carrier-grade NAT"
        if any(ip in net for net in _NOT_PUBLIC_V4):
            return "private"
    else:
        if ip.is_site_local:
            return "site-local"
        if any(ip in net for net in _NOT_PUBLIC_V6):
            return "reserved"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-public"
    return None


def is_blocked_address(ip: IPAddress) -> bool:
    """True when the private-network policy forbids connecting to ``ip``. Pure."""
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip)
    return _blocked_reason(ip) is not None


def _allow_private_networks() -> bool:
    # Read on every call so tests and a changed setting take effect without a restart.
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_NETWORKS", False))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every A and AAAA answer for ``host``, in the resolver's order."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        # ValueError: a name that is not valid IDNA.
        raise OutgoingRequestError("dns", f"DNS lookup failed for {host}")
    addresses = [
        # A scoped answer ("fe80::1%eth0") is link-local and refused anyway.
        ipaddress.ip_address(sockaddr[0].partition("%")[0])
        for family, _type, _proto, _canonname, sockaddr in answers
        if family in (socket.AF_INET, socket.AF_INET6)
    ]
    if not addresses:
        raise OutgoingRequestError("dns", f"DNS lookup failed for {host}")
    return addresses


def _refuse_blocked(host: str, addresses: list[IPAddress]) -> None:
    # One private answer blocks the name: the resolver or the OS may pick any of them, and a
    # name that mixes public and private answers is a rebinding attempt or a misconfiguration.
    for ip in addresses:
        blocked = _blocked_reason(ip)
        if blocked is None:
            continue
        reason, culprit = blocked
        what = f"{reason} address {culprit}"
        if culprit != ip:
            what += f" (inside {ip})"
        if not _is_ip_literal(host):
            what = f"{host} resolves to {what}"
        raise OutgoingRequestError("blocked", f"Blocked: {what}")


def _checked_address(host: str, port: int) -> str:
    """Resolve ``host`` once, refuse it if any answer is blocked, return the address to use."""
    addresses = _resolve(host, port)
    _refuse_blocked(host, addresses)
    usable = [ip for ip in addresses if ip.version == 4 or HAS_IPV6] or addresses
    return str(usable[0])


# --- URLs ------------------------------------------------------------------------------------


def _invalid(message: str) -> OutgoingRequestError:
    return OutgoingRequestError("invalid_url", message)


def header_value_problem(value: str) -> str | None:
    """Why HTTP cannot carry this header value, or None. The value itself is never part of
    the answer (it is often a credential). http.client encodes values as Latin-1 and requests
    refuses surrounding whitespace and line breaks; both would otherwise fail mid-send."""
    if value != value.strip(" \t"):
        return "it starts or ends with a space"
    if any(ch in value for ch in "\r\n\x00"):
        return "it contains a line break"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "it contains a character HTTP headers cannot carry (such as a curly quote)"
    return None


def _check_headers(headers) -> None:
    for name, value in headers.items():
        if isinstance(value, str) and (problem := header_value_problem(value)):
            raise OutgoingRequestError(
                "invalid_header", f"Invalid header: the value of {name} cannot be sent ({problem})."
            )


def _parse_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL we are willing to request, host as it will be resolved."""
    if not isinstance(url, str) or not url:
        raise _invalid("URL is empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise _invalid("URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _invalid("Invalid URL")
    scheme = parts.scheme.lower()
    if not scheme:
        raise _invalid("URL must start with http:// or https://")
    if scheme not in _DEFAULT_PORTS:
        raise _invalid(f"Unsupported URL scheme: {scheme} (use http or https)")
    if "@" in parts.netloc:
        # requests would turn them into an Authorization header; credentials belong in the
        # webhook's headers, where the UI masks them.
        raise _invalid("URLs with a user name or password are not allowed")
    if not parts.hostname:
        raise _invalid("URL has no host")
    # Normalise the way the request will (IDNA, percent-encoding), so that check_destination
    # resolves the very name the adapter will resolve.
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except (requests.RequestException, ValueError):
        raise _invalid("Invalid URL")
    host = urlsplit(prepared.url).hostname or parts.hostname
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def check_destination(url: str) -> None:
    """Resolve and check ``url``'s host without connecting, e.g. when a user saves a webhook.

    Raises OutgoingRequestError with kind "invalid_url", "dns" or "blocked". Passing says
    nothing about later requests: DNS can change, so ``request`` checks again every time.
    """
    _scheme, host, port = _parse_url(url)
    addresses = _resolve(host, port)
    if not _allow_private_networks():
        _refuse_blocked(host, addresses)


# --- the deadline ----------------------------------------------------------------------------

# The deadline of the request() call running in this thread, for _DeadlineReader; None outside
# request() (a bare new_session().get() gets requests' usual per-read timeouts).
_deadline: ContextVar[float | None] = ContextVar("deliveries_http_deadline", default=None)


class _DeadlineReader(io.RawIOBase):
    """The socket as http.client reads a response from it, each recv limited to what is left
    of the deadline.

    A socket timeout restarts with every recv, so a receiver sending a byte a second would never
    trip it: not in the status line and headers, which http.client reads line by line, nor in
    the body. Setting the timeout to the time left before each recv makes it a total.
    """

    def __init__(self, sock: socket.socket, deadline: float):
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(remaining)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock, *args, **kwargs):
        super().__init__(sock, *args, **kwargs)
        deadline = _deadline.get()
        if deadline is not None:
            # Nothing has been read yet: begin() runs after __init__.
            self.fp.close()
            self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))


class _HTTPConnection(urllib3.connection.HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = _DeadlineResponse


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


# --- the transport ---------------------------------------------------------------------------


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter that connects only to addresses it has checked itself.

    The check sits in ``build_connection_pool_key_attributes``, which requests calls for every
    request it sends, before it picks a pooled connection: the host is resolved there, all of its
    answers are checked, and the pool is keyed by the checked address, so urllib3 connects to that
    address and never resolves the name again. The Host header and TLS (SNI and certificate
    matching) keep using the name from the URL.

    Its connections read responses through _DeadlineReader.
    """

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _HTTPConnectionPool,
            "https": _HTTPSConnectionPool,
        }

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if _allow_private_networks():
            # Nothing to refuse, so let urllib3 resolve and try every address as usual.
            return host_params, pool_kwargs

        hostname = host_params["host"]
        scheme = host_params["scheme"]
        port = host_params["port"]
        if not hostname or scheme not in _DEFAULT_PORTS:
            raise _invalid("Invalid URL")
        address = _checked_address(hostname, port or _DEFAULT_PORTS[scheme])

        host_header = f"[{hostname}]" if ":" in hostname else hostname
        if port is not None:
            host_header += f":{port}"
        request.headers["Host"] = host_header
        if scheme == "https":
            # HTTPConnectionPool rejects these keywords, hence https only.
            pool_kwargs["server_hostname"] = hostname
            pool_kwargs["assert_hostname"] = hostname
        host_params["host"] = address
        return host_params, pool_kwargs

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        # Through a proxy, the proxy would resolve the name and the check above would mean
        # nothing. new_session() never sets one; refuse rather than trust every caller.
        if proxies and select_proxy(request.url, proxies):
            raise ValueError("deliveries.http does not support proxies")
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )

    def get_connection(self, url, proxies=None):
        # Deprecated by requests and it would skip the check above.
        raise NotImplementedError("use get_connection_with_tls_context")


class _NoRedirectSession(requests.Session):
    def get_redirect_target(self, resp):
        # Even with allow_redirects=True: a 3xx is the receiver's answer, and following it would
        # send our headers and signature to wherever it points.
        return None


def new_session() -> requests.Session:
    """A keep-alive session for many requests to receivers, with the guard mounted.

    Proxy variables, .netrc and CA-bundle variables from the environment are ignored
    (trust_env=False): an HTTPS_PROXY in a worker's environment would route around the guard.
    """
    session = _NoRedirectSession()
    session.trust_env = False
    session.headers["User-Agent"] = USER_AGENT
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def request(
    method: str,
    url: str,
    *,
    headers: dict | None = None,
    body: bytes | None = None,
    params: dict | None = None,
    timeout: float = 30,
    session: requests.Session | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> HTTPResult:
    """Send one request and return the receiver's response, whatever its status.

    ``timeout`` is the total time allowed, from resolving the host to the last byte of the body
    we keep. A 3xx is returned, never followed. At most ``max_body_bytes`` of the body are read
    (``truncated`` tells whether there was more). Raises OutgoingRequestError when there is no
    response to return.
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    _scheme, host, _port = _parse_url(url)

    start = time.monotonic()
    deadline = start + timeout
    own_session = session is None
    if session is None:
        session = new_session()
    elif not isinstance(session.get_adapter(url), GuardedAdapter):
        raise TypeError("pass a session made by deliveries.http.new_session()")

    merged_headers = CaseInsensitiveDict({"User-Agent": USER_AGENT})
    merged_headers.update(headers or {})
    _check_headers(merged_headers)
    # Connecting gets at most MAX_CONNECT_TIMEOUT; reading the response is bounded by
    # _DeadlineReader, so urllib3's read timeout only matters if that were bypassed.
    urllib3_timeout = Timeout(
        connect=min(timeout, MAX_CONNECT_TIMEOUT), read=timeout, total=timeout
    )
    deadline_token = _deadline.set(deadline)
    try:
        response = session.request(
            method.upper(),
            url,
            headers=merged_headers,
            data=body,
            params=params,
            timeout=urllib3_timeout,
            allow_redirects=False,
            stream=True,
        )
        try:
            content, truncated = _read_capped(response, deadline, timeout, max_body_bytes)
        finally:
            # After a complete read urllib3 has already returned the connection to the pool;
            # otherwise this closes it, since the unread rest of the body makes it unusable.
            response.close()
    except OutgoingRequestError:
        raise
    except (
        requests.RequestException,
        urllib3.exceptions.HTTPError,
        http.client.HTTPException,
        OSError,
        UnicodeEncodeError,
    ) as exc:
        raise _translate(exc, host, timeout) from exc
    finally:
        _deadline.reset(deadline_token)
        if own_session:
            session.close()

    return HTTPResult(
        status_code=response.status_code,
        headers=dict(response.headers),
        body=content.decode("utf-8", errors="replace"),
        truncated=truncated,
        duration_ms=int((time.monotonic() - start) * 1000),
    )


def _read_capped(
    response: requests.Response, deadline: float, timeout: float, limit: int
) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes of the body before ``deadline``; say if there was more.

    read1 does at most one recv, which _DeadlineReader bounds by the time left; reading in
    chunks keeps memory bounded however large the body is.
    """
    raw = response.raw
    buffer = bytearray()
    while len(buffer) <= limit:
        if time.monotonic() >= deadline:
            raise _timed_out(timeout)
        # One byte past the limit is enough to know the body was longer.
        chunk = raw.read1(min(_READ_CHUNK, limit + 1 - len(buffer)), decode_content=True)
        if not chunk:
            break
        buffer += chunk
    truncated = len(buffer) > limit
    return bytes(buffer[:limit]), truncated


# --- errors ----------------------------------------------------------------------------------


def _timed_out(timeout: float) -> OutgoingRequestError:
    return OutgoingRequestError("timeout", f"Timed out after {timeout:g} s")


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps: requests and urllib3 nest the cause in args/reason."""
    chain: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or any(current is seen for seen in chain):
            continue
        chain.append(current)
        reason = getattr(current, "reason", None)
        pending.append(reason if isinstance(reason, BaseException) else None)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.append(current.__cause__)
        pending.append(current.__context__)
    return chain


def _tls_message(chain: list[BaseException]) -> str:
    for exc in chain:
        # urllib3 matches the host name itself (we pin the address), with its own exception.
        if isinstance(exc, (ssl.SSLCertVerificationError, CertificateError)):
            detail = getattr(exc, "verify_message", None) or str(exc)
            return _short(f"TLS error: certificate verify failed: {detail}")
        if isinstance(exc, ssl.SSLError) and exc.reason:
            return _short("TLS error: " + exc.reason.replace("_", " ").lower())
    return _short(f"TLS error: {chain[-1]}")


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:199] + "…"


def _translate(exc: BaseException, host: str, timeout: float) -> OutgoingRequestError:
    chain = _exception_chain(exc)

    def find(*types, unless=()):
        return next((e for e in chain if isinstance(e, types) and not isinstance(e, unless)), None)

    # urllib3 makes NewConnectionError a ConnectTimeoutError for backwards compatibility;
    # it means the connect failed, not that it timed out.
    if find(
        TimeoutError,
        urllib3.exceptions.TimeoutError,
        requests.Timeout,
        unless=urllib3.exceptions.NewConnectionError,
    ):
        return _timed_out(timeout)
    if find(ssl.SSLError, urllib3.exceptions.SSLError, requests.exceptions.SSLError):
        return OutgoingRequestError("tls", _tls_message(chain))
    if find(urllib3.exceptions.NameResolutionError, socket.gaierror):
        return OutgoingRequestError("dns", f"DNS lookup failed for {host}")
    if find(ConnectionRefusedError):
        return OutgoingRequestError("connection", "Connection refused")
    if find(
        http.client.RemoteDisconnected,  # before BadStatusLine, its parent
        http.client.IncompleteRead,
        ConnectionResetError,
        ConnectionAbortedError,
        BrokenPipeError,
    ):
        return OutgoingRequestError("connection", "Connection closed by the receiver")
    if find(
        http.client.HTTPException,
        urllib3.exceptions.DecodeError,
        requests.exceptions.ContentDecodingError,
    ):
        return OutgoingRequestError("connection", "Invalid HTTP response from the receiver")
    if find(
        requests.exceptions.InvalidURL,
        requests.exceptions.InvalidSchema,
        requests.exceptions.MissingSchema,
        urllib3.exceptions.LocationValueError,
    ):
        return _invalid("Invalid URL")
    if find(requests.exceptions.InvalidHeader, UnicodeEncodeError):
        # _check_headers catches these first. requests' message quotes the value, which is
        # often a credential: never pass it on.
        return OutgoingRequestError("invalid_header", "Invalid header: a value cannot be sent.")
    # requests' exceptions are OSErrors too, but only the kernel's carry a strerror.
    os_error = find(OSError, unless=(urllib3.exceptions.HTTPError, requests.RequestException))
    if os_error is not None and os_error.strerror:
        return OutgoingRequestError("connection", f"Connection failed: {os_error.strerror}")
    if find(urllib3.exceptions.ProtocolError, requests.ConnectionError):
        return OutgoingRequestError("connection", "Connection closed by the receiver")
    return OutgoingRequestError("connection", _short(f"Connection failed: {exc}"))
