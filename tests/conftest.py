"""Shared test fixtures.

``http_server``: a loopback HTTP server (127.0.0.1, ephemeral port) serving a temporary
directory, stopped in teardown. Besides plain files it can be told to misbehave per path:

    server.root / "x.txt"                     # files placed here are served
    server.url("x.txt")                       # -> "http://127.0.0.1:<port>/x.txt"
    server.truncate["x.txt"] = 100            # claim 100 more bytes than sent, then hang up
    server.status["gone.txt"] = 404           # answer with this status
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class LoopbackServer:
    root: Path
    port: int = 0
    truncate: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name.lstrip('/')}"


def _handler_for(state: LoopbackServer) -> type[http.server.SimpleHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(state.root), **kwargs)

        def log_message(self, format, *args):  # noqa: A002 - keep the test output quiet
            pass

        def do_GET(self):  # noqa: N802 - http.server naming
            name = self.path.split("?", 1)[0].lstrip("/")
            state.requests.append(name)
            if name in state.status:
                self.send_error(state.status[name])
                return
            if name in state.truncate:
                body = (state.root / name).read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body) + state.truncate[name]))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

    return Handler


@pytest.fixture
def http_server(tmp_path_factory) -> Iterator[LoopbackServer]:
    """A loopback HTTP server serving ``server.root``; shut down after the test."""
    state = LoopbackServer(root=tmp_path_factory.mktemp("www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def demo_dag(tmp_path_factory):
    """The whole demo DAG run once per session (see tests/e2e_demo.py); shared by every e2e test."""
    from tests.e2e_demo import run_demo

    return run_demo(tmp_path_factory.mktemp("demo_dag"))


@pytest.fixture(scope="module")
def torch_one_thread():
    """One torch thread per test module: on a busy 2-core machine OpenMP threads spin and crawl.

    Use it with ``pytestmark = pytest.mark.usefixtures("torch_one_thread")``.
    """
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is in the lock
        return False
    return torch.cuda.is_available()


@pytest.fixture(
    params=[
        "cpu",
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(not _cuda_available(), reason="no CUDA device on this machine"),
        ),
    ]
)
def device(request) -> str:
    """Each model test that takes ``device`` runs on the CPU and, where one exists, on CUDA."""
    return request.param
