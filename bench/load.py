"""A paced load on POST /api/v1/events: event i is due at start + i / rate.

A few client threads, each with its own keep-alive requests.Session, take every n-th event.
A thread that falls behind sends at once (no skipping), so the achieved rate is reported, not
assumed. Each send records time.time() taken just before the POST."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import requests


@dataclass
class LoadResult:
    sent_at: dict[str, float] = field(default_factory=dict)  # bench_id -> wall time before POST
    statuses: dict[int, int] = field(default_factory=dict)
    post_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    first_send: float = 0.0
    last_send: float = 0.0
    late_sends: int = 0  # sent more than 50 ms after their due time
    planned: int = 0
    not_sent: int = 0  # still unsent when the time was up (the server could not keep up)

    @property
    def achieved_rate(self) -> float:
        span = self.last_send - self.first_send
        return (len(self.sent_at) - 1) / span if span > 0 else 0.0

    @property
    def accepted(self) -> int:
        return self.statuses.get(202, 0)


def run(
    url: str,
    token: str,
    *,
    rate: float,
    duration: float,
    threads: int,
    event_type: str = "content.viewed",
    prefix: str = "L",
    grace: float = 3.0,
) -> LoadResult:
    """Send rate * duration events; stop sending ``grace`` seconds after the last one was due
    (what is left is counted as not sent), so a slow server cannot stretch the run."""
    total = int(rate * duration)
    result = LoadResult(planned=total)
    lock = threading.Lock()
    start = time.perf_counter() + 0.3
    stop_at = start + duration + grace

    def client(offset: int):
        session = requests.Session()
        session.headers.update(
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        )
        local_sent: dict[str, float] = {}
        local_status: dict[int, int] = {}
        local_post: list[float] = []
        late = unsent = 0
        try:
            for i in range(offset, total, threads):
                if time.perf_counter() > stop_at:
                    unsent += 1
                    continue
                due = start + i / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -0.05:
                    late += 1
                bench_id = f"{prefix}{i}"
                sent = time.time()
                body = json.dumps(
                    {"type": event_type, "payload": {"bench_id": bench_id, "sent_at": sent}}
                )
                before = time.perf_counter()
                try:
                    response = session.post(url, data=body, timeout=30)
                    status = response.status_code
                except requests.RequestException as exc:
                    status = 0
                    with lock:
                        result.errors.append(str(exc)[:200])
                local_post.append(time.perf_counter() - before)
                local_sent[bench_id] = sent
                local_status[status] = local_status.get(status, 0) + 1
        finally:
            session.close()
            with lock:
                result.sent_at.update(local_sent)
                for status, n in local_status.items():
                    result.statuses[status] = result.statuses.get(status, 0) + n
                result.post_seconds.extend(local_post)
                result.late_sends += late
                result.not_sent += unsent

    pool = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if result.sent_at:
        result.first_send = min(result.sent_at.values())
        result.last_send = max(result.sent_at.values())
    return result


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100)
    return sorted_values[min(len(sorted_values), int(rank)) - 1]
