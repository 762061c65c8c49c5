"""Prefect's temporary API server, which a command starts when no ``PREFECT_API_URL`` names a
server: started here, before the flows, so that it ends with the command however it ends.

Prefect stops that server at exit (``atexit``), and a SIGTERM unwinds to that exit
(:func:`koubei.stopping.sigterm_unwinds`), but a SIGKILL (the OOM killer, ``kill -9``, a service
manager's last resort) runs no code of the killed process: each such ``koubei run`` or
``koubei serve`` left a uvicorn server with its SQLite database open, running for ever. The
watcher starts once the server answers: a kill in the seconds Prefect waits for that still
leaves it (Prefect starts the process inside that wait; reaching in there is not worth it).
"""

from __future__ import annotations

from koubei.stopping import ends_with_this_process

__all__ = ["temporary_server_ends_with_this_process"]


def temporary_server_ends_with_this_process() -> None:
    """Start the temporary server Prefect would start for this process's first flow, and have
    it end with this process. Nothing is started when ``PREFECT_API_URL`` names a server or
    Prefect's temporary servers are turned off
    (``PREFECT_SERVER_EPHEMERAL_ENABLED``)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    # The one instance Prefect's own clients use (keyed by no port): starting it here is what
    # `get_client()` does first, so the flows then talk to this server.
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    if server.server_process is not None:
        ends_with_this_process(server.server_process.pid)
