"""A real single-node Elasticsearch on 127.0.0.1 for the demo and the tests.

The server is the ``integ-test-zip`` distribution from Maven Central (core server, security and
netty only), fetched once with ``mvn dependency:copy`` and cached. Elasticsearch refuses to run as
root, so as root it runs as the system user ``koubei-es``. ES 9 needs a JDK >= 21: we look in
``KOUBEI_ES_JAVA_HOME``/``ES_JAVA_HOME`` and then ``/usr/lib/jvm``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from koubei.errors import KoubeiError

ES_VERSION = os.environ.get("KOUBEI_ES_VERSION", "9.2.4")
ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
RUN_USER = "koubei-es"
MIN_JDK = 21
# The throwaway data folders in base_dir() of a node or cluster started without a workdir (the
# tests', the benchmarks'), named for the process that started it (koubei.owned_folders), so
# that one a killed run left is removed by a later start (remove_leftover_folders). `koubei es
# start`'s node keeps its data in koubei-node-<key> (node_workdir), which no sweep touches.
NODE_PREFIX = "node-"
CLUSTER_PREFIX = "cluster-"


class LocalESError(KoubeiError, RuntimeError):
    """The local node could not be fetched, started or reached.

    The CLI prints its message (with the node's last output) without a traceback, exit 1.
    """

    exit_code = 1


class LocalNodeFileError(KoubeiError):
    """``$KOUBEI_HOME/es/es-node.json`` is damaged: one line naming it and what to do."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(
            f"{path}: damaged record of the local Elasticsearch node ({why[:200]}): remove it "
            "(stop the node it recorded by hand if one is still running: `ps -ef | grep "
            "elasticsearch`), then `koubei es start`, or set KOUBEI_ES_URL"
        )


@dataclass
class LocalNode:
    url: str
    pid: int
    home: str
    data: str
    heap: str = "512m"
    username: str | None = None
    password: str | None = None
    ca_certs: str | None = None  # the CA that signed the node's HTTP certificate (TLS only)
    java_opts: str = ""  # JVM options beyond the heap (see CLUSTER_JAVA_OPTS)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> LocalNode | None:
        """The node recorded in ``path``, None if there is none.

        Raises
        ------
        LocalNodeFileError
            The file is damaged (cut short, emptied, edited by hand, a directory): every
            command that looks for the local node raised a traceback (``JSONDecodeError``,
            ``TypeError``, ``OverflowError`` from a pid past a C long), and a pid of 0 or -1
            read as alive made ``koubei es stop`` signal its own process group or every process.
        """
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # a directory, NUL, cut short
            raise LocalNodeFileError(path, str(exc) or "JSON nested too deep") from None
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or not {"url", "pid", "home", "data"} <= set(data) <= set(
            fields
        ):
            raise LocalNodeFileError(path, f"not an object of {', '.join(fields)}")
        pid = data["pid"]  # 0 or -1 would signal a process group or every process
        if not isinstance(pid, int) or isinstance(pid, bool) or not 1 < pid <= 2**22:
            raise LocalNodeFileError(path, f"'pid' {pid!r} is not a process id")
        for name, value in data.items():
            optional = value is None and fields[name].default is None
            if name != "pid" and not (isinstance(value, str) or optional):
                raise LocalNodeFileError(path, f"{name!r} {value!r} is not text")
        return cls(**data)

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return not self.foreign()

    def foreign(self) -> bool:
        """The recorded pid now belongs to another program (the node died, the machine was
        restarted and the number was given out again): it must never be signalled.

        The node's processes name its config directory (``-Des.path.conf=<data>/config``).
        Where ``/proc`` cannot tell (another OS, a process just gone), the pid is trusted.
        """
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return False
        return bool(cmdline) and os.fsencode(str(Path(self.data) / "config")) not in cmdline


def _as_root() -> bool:
    return os.geteuid() == 0


def base_dir() -> Path:
    """Where the unpacked server lives; root's home is closed to the run user, so /var/tmp."""
    if _as_root():
        return Path(os.environ.get("KOUBEI_ES_DIR", "/var/tmp/koubei-es"))
    return Path(os.environ.get("KOUBEI_ES_DIR", Path.home() / ".cache" / "koubei" / "es"))


def remove_leftover_folders() -> list[Path]:
    """Remove the throwaway node and cluster folders in :func:`base_dir` that a killed run
    left (its process, and its watcher with it, SIGKILLed: nothing removed them); return them.

    Only those named for the process that made them (:data:`NODE_PREFIX`,
    :data:`CLUSTER_PREFIX`), once it has certainly ended and no process works in them any
    more (:func:`koubei.owned_folders.remove_orphaned`): a concurrent run's folder, whose maker
    still runs, and one whose node still runs, are kept; so is one named otherwise (by a koubei
    before owner marks: whose it is cannot be told), and ``koubei es start``'s data.
    """
    from koubei.owned_folders import remove_orphaned

    uids = [] if (user := _run_user()) is None else [user.pw_uid]  # as root, the folders' owner
    return [
        *remove_orphaned(NODE_PREFIX, base_dir(), uids=uids),
        *remove_orphaned(CLUSTER_PREFIX, base_dir(), uids=uids),
    ]


def _throwaway_folder(prefix: str) -> Path:
    """A new folder in :func:`base_dir` for a node or cluster of its own, named for this
    process; the leftovers of killed runs removed first."""
    from koubei.owned_folders import make_owned_folder

    remove_leftover_folders()
    return make_owned_folder(prefix, base_dir())


def find_java_home() -> str:
    """A JDK >= 21: the env override, else the newest under /usr/lib/jvm."""
    for var in ("KOUBEI_ES_JAVA_HOME", "ES_JAVA_HOME"):
        if os.environ.get(var):
            return os.environ[var]
    candidates = []
    for jdk in Path("/usr/lib/jvm").glob("*"):
        # The JDK's own `release` file is authoritative; directory names vary by vendor.
        release = jdk / "release"
        if jdk.is_symlink() or not release.exists() or not (jdk / "bin" / "java").exists():
            continue
        match = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if match and int(match.group(1)) >= MIN_JDK:
            candidates.append((int(match.group(1)), str(jdk)))
    if not candidates:
        raise LocalESError(
            f"Elasticsearch {ES_VERSION} needs a JDK >= {MIN_JDK}; none found under /usr/lib/jvm. "
            "Install one (e.g. apt-get install openjdk-21-jdk-headless) or set ES_JAVA_HOME."
        )
    return max(candidates)[1]


def fetch(version: str = ES_VERSION) -> Path:
    """The cached zip, fetched with Maven the first time."""
    cache = Path(os.environ.get("KOUBEI_CACHE", Path.home() / ".cache" / "koubei")) / "es"
    zip_path = cache / f"elasticsearch-{version}.zip"
    if zip_path.exists():
        return zip_path
    cache.mkdir(parents=True, exist_ok=True)
    command = [
        "mvn", "-q", "dependency:copy",
        f"-Dartifact={ARTIFACT.format(version=version)}",
        f"-DoutputDirectory={cache}",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if result.returncode != 0 or not zip_path.exists():
        raise LocalESError(f"`{' '.join(command)}` failed:\n{result.stdout}{result.stderr}")
    return zip_path


def _run_user() -> pwd.struct_passwd | None:
    """The user the server runs as, if this is root and it exists."""
    if not _as_root():
        return None
    try:
        return pwd.getpwnam(RUN_USER)
    except KeyError:
        return None


def _ensure_user() -> pwd.struct_passwd | None:
    """The user the server runs as (:func:`_run_user`), made first if this is root."""
    user = _run_user()
    if user is not None or not _as_root():
        return user
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_USER],
        check=True,
    )
    return pwd.getpwnam(RUN_USER)


def _chown_tree(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is None:
        return
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(path)], check=True)


def install(version: str = ES_VERSION) -> Path:
    """Unpack the server once; returns its home directory."""
    home = base_dir() / f"elasticsearch-{version}"
    if (home / "bin" / "elasticsearch").exists():
        return home
    zip_path = fetch(version)
    base_dir().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=base_dir()))
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(staging)
    for script in (staging / f"elasticsearch-{version}" / "bin").iterdir():
        script.chmod(0o755)
    jdk_bin = staging / f"elasticsearch-{version}" / "jdk" / "bin"
    if jdk_bin.exists():
        for tool in jdk_bin.iterdir():
            tool.chmod(0o755)
    (staging / f"elasticsearch-{version}").rename(home)
    shutil.rmtree(staging, ignore_errors=True)
    return home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(
    url: str, username: str | None, password: str | None, ca_certs: str | None = None
) -> dict[str, object] | None:
    request = urllib.request.Request(f"{url}/_cluster/health")
    context = ssl.create_default_context(cafile=ca_certs) if ca_certs else None
    if username:
        token = b64encode(f"{username}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
        return None


def start(
    *,
    version: str = ES_VERSION,
    heap: str = "512m",
    security: bool = False,
    username: str = "elastic-admin",
    password: str = "koubei-test-pw",
    workdir: Path | None = None,
    timeout: float = 180.0,
    settings: Mapping[str, object] | None = None,
    config_files: Mapping[str, bytes] | None = None,
    ca_certs: str | None = None,
) -> LocalNode:
    """Start a node on a free loopback port and wait for health.

    Without ``workdir`` the node gets a fresh temporary data dir (tests). With one, an existing
    node's data is reused, so ``koubei es start`` after a stop finds the demo's documents again.
    ``settings`` are added to (or override) ``elasticsearch.yml``; ``config_files`` are written
    into the node's config directory (Elasticsearch reads certificates only from there). With
    ``xpack.security.http.ssl.enabled`` the node answers on https and ``ca_certs`` is the CA
    that health checks (and clients) verify it with.
    """
    home = install(version)
    user = _ensure_user()
    if workdir is None:
        workdir = _throwaway_folder(NODE_PREFIX)
    config = workdir / "config"
    if not config.exists():
        shutil.copytree(home / "config", config)
    settings = {
        "cluster.name": "koubei-local",
        "node.name": "koubei-1",
        "network.host": "127.0.0.1",
        "http.port": free_port(),
        "transport.port": free_port(),
        "discovery.type": "single-node",
        "path.data": str(workdir / "data"),
        "path.logs": str(workdir / "logs"),
        "xpack.security.enabled": security,
        "xpack.security.http.ssl.enabled": False,
        "xpack.security.transport.ssl.enabled": False,
        # Small local node: don't refuse writes when the shared disk is busy.
        "cluster.routing.allocation.disk.threshold_enabled": False,
        "action.destructive_requires_name": False,
        **(settings or {}),
    }
    for name, content in (config_files or {}).items():
        (config / name).write_bytes(content)
    (config / "elasticsearch.yml").write_text(
        "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())
    )
    _chown_tree(workdir, user)
    scheme = "https" if settings["xpack.security.http.ssl.enabled"] else "http"
    node = LocalNode(
        url=f"{scheme}://127.0.0.1:{settings['http.port']}",
        pid=0,
        home=str(home),
        data=str(workdir),
        heap=heap,
        username=username if security else None,
        password=password if security else None,
        ca_certs=ca_certs,
    )
    if security:
        users_cmd = [str(home / "bin" / "elasticsearch-users"), "useradd", username,
                     "-p", password, "-r", "superuser"]  # fmt: skip
        subprocess.run(users_cmd, env=_env(node), check=True, capture_output=True, user=_uid(user))
    return _launch(node, timeout)


def _env(node: LocalNode) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": find_java_home(),
        "ES_PATH_CONF": str(Path(node.data) / "config"),
        "ES_JAVA_OPTS": f"-Xms{node.heap} -Xmx{node.heap} {node.java_opts}".strip(),
        "HOME": node.data,
    }


def _spawn(node: LocalNode) -> subprocess.Popen[bytes]:
    log_path = Path(node.data) / "stdout.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [str(Path(node.home) / "bin" / "elasticsearch")],
            env=_env(node),
            stdout=log,
            stderr=subprocess.STDOUT,
            user=_uid(_ensure_user()),
            start_new_session=True,
            cwd=node.data,
        )
    node.pid = process.pid
    return process


def _launch(node: LocalNode, timeout: float) -> LocalNode:
    """Run the server on ``node.data`` and wait until the cluster is green or yellow."""
    return _wait(node, _spawn(node), timeout)


def _wait(
    node: LocalNode, process: subprocess.Popen[bytes], timeout: float, nodes: int = 1
) -> LocalNode:
    """Wait until ``node`` answers with a green or yellow cluster of ``nodes`` nodes."""
    log_path = Path(node.data) / "stdout.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise LocalESError(f"Elasticsearch exited with {process.returncode}:\n{tail}")
        health = _health(node.url, node.username, node.password, node.ca_certs)
        if (
            health
            and health.get("status") in ("green", "yellow")
            and int(str(health.get("number_of_nodes", 0))) >= nodes
        ):
            return node
        time.sleep(1)
    stop(node, remove_data=False)
    raise LocalESError(
        f"Elasticsearch on {node.url} not healthy after {timeout:.0f}s; see {log_path}"
    )


# A test cluster's JVMs start at once on a small machine: the C1 compiler alone gets each to a
# serving node sooner (C2's optimising compiles compete for the same cores while three nodes
# boot; three nodes on two shared cores: 69-70 s with the default compilers, 44-51 s C1-only)
# and is fast enough for test-sized loads.
CLUSTER_JAVA_OPTS = "-XX:TieredStopAtLevel=1"


@dataclass
class LocalCluster:
    """Nodes of one local cluster: each its own data path, HTTP and transport port."""

    nodes: list[LocalNode]
    transport_ports: list[int]
    names: list[str]  # node.name of each node, in the same order

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]


def start_cluster(
    size: int = 3,
    *,
    version: str = ES_VERSION,
    heap: str = "256m",
    timeout: float = 240.0,
    java_opts: str = CLUSTER_JAVA_OPTS,
) -> LocalCluster:
    """Start ``size`` master-eligible data nodes on 127.0.0.1 that form one cluster.

    The same distribution as :func:`start`; the nodes find each other through
    ``discovery.seed_hosts`` (their transport ports) and bootstrap with
    ``cluster.initial_master_nodes``. Returns once every node has joined.
    """
    home = install(version)
    user = _ensure_user()
    root = _throwaway_folder(CLUSTER_PREFIX)
    names = [f"koubei-{i + 1}" for i in range(size)]
    transport = [free_port() for _ in names]
    seeds = [f"127.0.0.1:{port}" for port in transport]
    nodes = []
    for name, port in zip(names, transport, strict=True):
        workdir = root / name
        shutil.copytree(home / "config", workdir / "config")
        http_port = free_port()
        settings = {
            "cluster.name": f"koubei-cluster-{root.name}",
            "node.name": name,
            "network.host": "127.0.0.1",
            "http.port": http_port,
            "transport.port": port,
            "discovery.seed_hosts": seeds,
            "cluster.initial_master_nodes": names,
            "path.data": str(workdir / "data"),
            "path.logs": str(workdir / "logs"),
            "xpack.security.enabled": False,
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "action.destructive_requires_name": False,
        }
        (workdir / "config" / "elasticsearch.yml").write_text(
            "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())
        )
        nodes.append(
            LocalNode(url=f"http://127.0.0.1:{http_port}", pid=0, home=str(home),
                      data=str(workdir), heap=heap, java_opts=java_opts)
        )  # fmt: skip
    _chown_tree(root, user)
    processes = [_spawn(node) for node in nodes]
    cluster = LocalCluster(nodes, transport, names)
    try:
        for node, process in zip(nodes, processes, strict=True):
            _wait(node, process, timeout, nodes=size)
    except LocalESError:
        stop_cluster(cluster)
        raise
    return cluster


def restart_node(cluster: LocalCluster, index: int, timeout: float = 180.0) -> LocalNode:
    """Start a stopped node of ``cluster`` again on its data path; it rejoins the cluster."""
    node = cluster.nodes[index]
    return _wait(node, _spawn(node), timeout, nodes=len(cluster.nodes))


def stop_cluster(cluster: LocalCluster) -> None:
    for node in cluster.nodes:  # all shut down at once, not one after another
        if not node.foreign():
            with contextlib.suppress(OSError):
                os.killpg(node.pid, signal.SIGTERM)
    for node in cluster.nodes:
        stop(node, remove_data=False)
    if cluster.nodes:
        shutil.rmtree(Path(cluster.nodes[0].data).parent, ignore_errors=True)


def _uid(user: pwd.struct_passwd | None) -> int | None:
    return user.pw_uid if user else None


def stop(node: LocalNode, *, remove_data: bool = True, timeout: float = 30.0) -> None:
    """Stop the node (SIGTERM, then SIGKILL) and remove its data dir.

    A pid that now belongs to another program is left alone (``koubei es stop`` after a
    restart used to send SIGTERM, then SIGKILL, to whatever process group had that number).
    """
    if node.foreign():
        if remove_data:
            shutil.rmtree(node.data, ignore_errors=True)
        return
    with contextlib.suppress(OSError):
        os.killpg(node.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while node.alive() and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(node.pid, os.WNOHANG)
        time.sleep(0.2)
    if node.alive():
        with contextlib.suppress(OSError):
            os.killpg(node.pid, signal.SIGKILL)
    if remove_data:
        shutil.rmtree(node.data, ignore_errors=True)


def pause(node: LocalNode) -> None:
    """Stop the process but keep its data, so :func:`resume` brings the same node back."""
    stop(node, remove_data=False)


def resume(node: LocalNode, timeout: float = 180.0) -> LocalNode:
    """Start a paused node again on its existing data dir and port."""
    return _launch(node, timeout)


def node_file() -> Path:
    """Where ``koubei es start`` records the running local node (``$KOUBEI_HOME/es``), without
    creating that folder: a command that only looks for the node (``search``, ``es status``)
    made it, and ``$KOUBEI_HOME`` with it; ``koubei es start`` creates it."""
    from koubei import paths

    return paths.home_path() / "es" / "es-node.json"


def node_workdir(node_file: Path) -> Path:
    """The data dir of the persistent node recorded in ``node_file``: one per koubei home.

    The server itself is shared (``base_dir``), the data is not: a second ``KOUBEI_HOME`` (a
    colleague's demo, a test) must neither see the first home's documents nor wait on its
    ``node.lock``. Keyed by the node file's resolved path, so the same home finds its
    documents again after ``koubei es stop`` / ``start``.
    """
    key = hashlib.sha256(str(node_file.resolve()).encode()).hexdigest()[:12]
    return base_dir() / f"koubei-node-{key}"


def ensure_node(node_file: Path, *, heap: str = "512m") -> LocalNode:
    """The persistent local node recorded in ``node_file``, started if it is not running."""
    node = LocalNode.load(node_file)
    if node and node.alive() and _health(node.url, node.username, node.password):
        return node
    workdir = node_workdir(node_file)
    workdir.mkdir(parents=True, exist_ok=True)
    # which home a data dir belongs to, for whoever cleans up /var/tmp
    (workdir / "koubei-home.txt").write_text(f"{node_file.resolve()}\n")
    node = start(heap=heap, workdir=workdir)
    node.save(node_file)
    return node


def add_file_user(
    node: LocalNode, username: str, password: str, *, role: str, privileges: Mapping[str, object]
) -> None:
    """Define ``role`` in the node's ``roles.yml`` and a file-realm user holding only it.

    The security API's native realm cannot be used on the integ-test-zip: its ``.security``
    index needs the ``pattern_capture`` filter of the analysis-common module, which that
    distribution lacks (``PUT _security/role`` answers 400 ``Unknown filter type
    [pattern_capture] for [email]``). The file realm takes the same role body, and the node
    reloads both files within seconds.
    """
    config = Path(node.data) / "config"
    with open(config / "roles.yml", "a", encoding="utf-8") as roles:
        roles.write(f"\n{role}: {json.dumps(privileges)}\n")  # JSON is YAML
    user = _ensure_user()
    _chown_tree(config, user)
    command = [str(Path(node.home) / "bin" / "elasticsearch-users"), "useradd", username,
               "-p", password, "-r", role]  # fmt: skip
    subprocess.run(command, env=_env(node), check=True, capture_output=True, user=_uid(user))
