"""A cluster address that takes the connection and never answers (a node overloaded, or its
HTTP layer up before it can serve): told as such, not as an address with nothing there."""

from __future__ import annotations

import socket

import pytest

from koubei.pipeline.index.client import ESConfigError, check_cluster, client_from_env


def test_a_node_that_does_not_answer_in_time_is_not_called_unreachable() -> None:
    # A listening socket nobody accepts from: the kernel completes the TCP handshake (the
    # backlog), so the client connects and then waits for an answer that never comes.
    with socket.create_server(("127.0.0.1", 0), backlog=8) as silent:
        port = silent.getsockname()[1]
        es = client_from_env(f"http://127.0.0.1:{port}", request_timeout=1, max_retries=0)
        with pytest.raises(ESConfigError) as caught:
            check_cluster(es)
    message = str(caught.value)
    assert f"Elasticsearch at http://127.0.0.1:{port} did not answer within 1 s" in message
    assert "busy or still starting" in message and "cannot reach" not in message
