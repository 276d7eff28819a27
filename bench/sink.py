"""A fast local HTTP/1.1 receiver for the benchmark (nginx is not installed here).

One asyncio process, raw ``asyncio.Protocol`` parsing (no framework): keep-alive, answers every
request ``200 ok``, and records per request the path, the event's ``bench_id`` (found in the JSON
body with a regex, no JSON parsing) and the arrival time (``time.time()`` once the whole body
has arrived).

It runs in its own process (``python -m bench.sink PORT``, sharing nothing with Django) and the
bench drives it over stdin/stdout: ``reset`` starts a new phase, ``stats`` returns what
arrived.

Import-light on purpose: nothing from the project.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

_BENCH_ID = re.compile(rb'"bench_id":"([^"]*)"')
_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
_RESPONSE_CLOSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\nok"
)
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MAX_HEADER_BYTES = 64 * 1024

KIND = "bench/sink.py: asyncio HTTP/1.1 keep-alive server (separate process, raw Protocol)"


class _Recorder:
    def __init__(self):
        self.reset()

    def reset(self):
        self.paths: list[str] = []
        self.ids: list[str] = []
        self.arrivals: list[float] = []
        self.connections = 0

    def add(self, path: str, bench_id: str, arrival: float):
        self.paths.append(path)
        self.ids.append(bench_id)
        self.arrivals.append(arrival)


class _HTTP(asyncio.Protocol):
    def __init__(self, recorder: _Recorder):
        self.recorder = recorder
        self.buffer = bytearray()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.recorder.connections += 1
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEADER_BYTES:
                    self._fail()
                return
            head = bytes(self.buffer[:end])
            lines = head.split(b"\r\n")
            try:
                _method, path, _version = lines[0].split(b" ", 2)
            except ValueError:
                self._fail()
                return
            length = 0
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    try:
                        length = int(value.strip())
                    except ValueError:
                        self._fail()
                        return
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
                elif name == b"transfer-encoding":
                    self._fail()  # the bench never sends chunked bodies
                    return
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            arrival = time.time()
            match = _BENCH_ID.search(body)
            self.recorder.add(
                path.decode("latin-1"), match.group(1).decode() if match else "", arrival
            )
            if close:
                self.transport.write(_RESPONSE_CLOSE)
                self.transport.close()
                return
            self.transport.write(_RESPONSE)

    def _fail(self):
        self.transport.write(_BAD_REQUEST)
        self.transport.close()


def serve(port: int, commands_in, replies_out) -> None:
    """The sink process: serve on 127.0.0.1:port; one command per line on ``commands_in``
    (reset, count, stats, stop), one JSON reply per line on ``replies_out``."""
    recorder = _Recorder()

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _HTTP(recorder), "127.0.0.1", port, backlog=1024, reuse_address=True
        )
        stop = loop.create_future()

        def answer(command: str):
            if command == "reset":
                recorder.reset()
                return True
            if command == "count":
                return len(recorder.arrivals)
            if command == "stats":
                return {
                    "count": len(recorder.arrivals),
                    "connections": recorder.connections,
                    "paths": recorder.paths,
                    "ids": recorder.ids,
                    "arrivals": recorder.arrivals,
                }
            if not stop.done():
                stop.set_result(None)
            return True

        def read_commands():
            # A thread reads the pipe; the event loop thread touches the lists, so they are
            # never used from two threads at once. EOF (the bench died) stops the sink.
            for line in commands_in:
                command = line.strip()
                future = asyncio.run_coroutine_threadsafe(_call(answer, command), loop)
                replies_out.write(json.dumps(future.result()) + "\n")
                replies_out.flush()
                if command not in ("reset", "count", "stats"):
                    return
            loop.call_soon_threadsafe(answer, "stop")

        replies_out.write(json.dumps({"ready": port}) + "\n")
        replies_out.flush()
        threading.Thread(target=read_commands, daemon=True).start()
        async with server:
            await stop

    asyncio.run(main())


async def _call(function, *args):
    return function(*args)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """The sink process, seen from the bench: start(), reset(), count(), stats(), stop().

    A plain subprocess in its own session (process group), so the bench can always kill it."""

    kind = KIND

    def __init__(self, port: int | None = None, python: str = sys.executable, cwd=None):
        self.port = port or free_port()
        self.python = python
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Sink:
        self.process = subprocess.Popen(
            [self.python, "-m", "bench.sink", str(self.port)],
            cwd=self.cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        hello = self.process.stdout.readline()
        if not hello:
            self.stop()
            raise RuntimeError("the sink did not start")
        return self

    def _ask(self, command: str):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the sink died")
        return json.loads(line)

    def reset(self) -> None:
        self._ask("reset")

    def count(self) -> int:
        return self._ask("count")

    def stats(self) -> dict:
        return self._ask("stats")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if process.poll() is None:
                process.stdin.write("stop\n")
                process.stdin.flush()
                process.wait(3)
        except (BrokenPipeError, OSError, ValueError, subprocess.TimeoutExpired):
            pass
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(3)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.stdin, sys.stdout)
