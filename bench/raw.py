"""The raw ceiling: one process, one keep-alive connection, the same signed body every time.

Guarded: deliveries.http.request(..., session=http.new_session()), as drain() sends.
Plain: a bare requests.Session().post(...), to show what the guard costs per request.
Needs Django set up (http.py reads settings)."""

from __future__ import annotations

import time

import requests


def signed_request(url_base: str):
    from deliveries import formats, http, signing

    body, content_type = formats.render(
        "default", "form.submitted", {"bench_id": "raw", "sent_at": time.time()}
    )
    key = signing.generate_signing_key()
    headers = {"Content-Type": content_type, "User-Agent": http.USER_AGENT}
    headers.update(signing.signature_headers("msg_bench_raw", int(time.time()), body, [key]))
    return f"{url_base}/raw", headers, body


def guarded(url: str, headers: dict, body: bytes, count: int, warmup: int = 100) -> float:
    from deliveries import http

    session = http.new_session()
    try:
        for _ in range(warmup):
            http.request("POST", url, headers=headers, body=body, timeout=30, session=session)
        started = time.perf_counter()
        for _ in range(count):
            response = http.request(
                "POST", url, headers=headers, body=body, timeout=30, session=session
            )
            if response.status_code != 200:
                raise RuntimeError(f"sink answered {response.status_code}")
        return count / (time.perf_counter() - started)
    finally:
        session.close()


def plain(
    url: str, headers: dict, body: bytes, count: int, warmup: int = 100, trust_env: bool = True
) -> float:
    """A bare requests.Session. With trust_env (its default) requests looks up proxy variables
    and ~/.netrc on every request; new_session() turns that off, so trust_env=False is the
    like-for-like baseline for the guard's own cost."""
    with requests.Session() as session:
        session.trust_env = trust_env
        for _ in range(warmup):
            session.post(url, data=body, headers=headers, timeout=30)
        started = time.perf_counter()
        for _ in range(count):
            response = session.post(url, data=body, headers=headers, timeout=30)
            if response.status_code != 200:
                raise RuntimeError(f"sink answered {response.status_code}")
        return count / (time.perf_counter() - started)


def ceilings(url: str, headers: dict, body: bytes, count: int, rounds: int = 2) -> dict:
    """Each variant ``rounds`` times, interleaved (count // rounds requests each time), so a
    slow moment of the machine does not land on one variant only; the best round is kept."""
    per_round = max(1, count // rounds)
    best = {"guarded": 0.0, "plain": 0.0, "plain_no_env": 0.0}
    for _ in range(rounds):
        best["guarded"] = max(best["guarded"], guarded(url, headers, body, per_round))
        best["plain"] = max(best["plain"], plain(url, headers, body, per_round))
        best["plain_no_env"] = max(
            best["plain_no_env"], plain(url, headers, body, per_round, trust_env=False)
        )
    return best


def guard_check_microseconds(iterations: int = 2000) -> float:
    """What the SSRF check adds per request when it is on (resolve + check every address).

    With WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1 (needed for a sink on 127.0.0.1) the adapter skips
    it, so the guarded ceiling above does not include it; this times it alone on a public IP
    literal (getaddrinfo answers without DNS)."""
    from deliveries import http

    started = time.perf_counter()
    for _ in range(iterations):
        http._checked_address("93.184.216.34", 80)
    return (time.perf_counter() - started) / iterations * 1e6
