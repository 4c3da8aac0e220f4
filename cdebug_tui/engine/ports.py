"""Provides the target's listening sockets (read in its network namespace) and port forwarding.

The sockets are read from `/proc/net/{tcp,tcp6,udp,udp6}` by a command in a container that
shares the target's network namespace (a session's sidecar, or the relay of `port-forward`):
those files describe the reader's namespace. Each socket's owner is found by its inode among
the `socket:[INODE]` links of `/proc/<pid>/fd`, which the sidecar sees since it shares the
target's PID namespace too.

A forward listens on a local port; each connection it accepts is an exec of busybox's
`nc 127.0.0.1 PORT` in that container, whose stdin and framed stdout are pumped both ways. Nothing
is published and nothing in the target changes or restarts.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from cdebug_tui.engine.models import (
    OWNER_LABEL,
    SESSION_LABEL,
    SIDECAR_LABEL,
    TARGET_LABEL,
    TargetInfo,
)
from cdebug_tui.engine.readings import ListeningSocket, PublishedPort
from cdebug_tui.engine.stream import Stream
from cdebug_tui.errors import CdebugError, PortForwardError, SessionError

if TYPE_CHECKING:
    from cdebug_tui.engine.client import Engine

#: /proc/net files and the protocol each describes.
NET_FILES = (("tcp", "tcp"), ("tcp6", "tcp6"), ("udp", "udp"), ("udp6", "udp6"))
TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"

# One command for everything: a fork per process would cost more than the reading.
# `ls -l` of every fd directory names each socket's inode; `head` prints each comm with a header.
_SOCKETS_SCRIPT = r"""
for f in tcp tcp6 udp udp6; do echo "==NET $f"; cat /proc/net/$f 2>/dev/null; done
echo "==FDS"; ls -l /proc/[0-9]*/fd/ 2>/dev/null
echo "==COMM"; head -n 1 /proc/[0-9]*/comm 2>/dev/null
echo "==END"
"""


class SessionRunner(Protocol):
    """What reading the sockets needs: running a command in a container in the target's netns."""

    def run(self, argv: list[str], timeout: float = 10.0) -> tuple[int, bytes, bytes]: ...


def proc_net_ip(hex_addr: str) -> str:
    """An address of /proc/net/*: IPv4 as one little-endian word, IPv6 as four."""
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def parse_net(text: str, protocol: str) -> list[tuple[str, int, int]]:
    """The listening (TCP) or bound, unconnected (UDP) sockets of one /proc/net file.

    Returns:
        (address, port, inode) for each.
    """
    out = []
    wanted = TCP_LISTEN if protocol.startswith("tcp") else UDP_UNCONNECTED
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != wanted:
            continue
        local, _, port = fields[1].partition(":")
        try:
            out.append((proc_net_ip(local), int(port, 16), int(fields[9])))
        except ValueError:
            continue
    return out


def parse_fd_listing(text: str) -> dict[int, int]:
    """Socket inode -> PID, from `ls -l /proc/*/fd/` (a `/proc/PID/fd/:` header per process)."""
    owners: dict[int, int] = {}
    pid = 0
    for line in text.splitlines():
        if line.startswith("/proc/") and line.endswith(":"):
            part = line.split("/")[2]
            pid = int(part) if part.isdigit() else 0
            continue
        at = line.find("socket:[")
        if at >= 0 and pid:
            inode = line[at + 8 :].rstrip("]")
            if inode.isdigit():
                owners.setdefault(int(inode), pid)
    return owners


def parse_comms(text: str) -> dict[int, str]:
    """PID -> command name, from `head -n 1 /proc/*/comm` (a `==> FILE <==` header per file)."""
    comms: dict[int, str] = {}
    pid = 0
    for line in text.splitlines():
        if line.startswith("==> /proc/") and line.endswith(" <=="):
            part = line.split("/")[2]
            pid = int(part) if part.isdigit() else 0
        elif pid and line.strip():
            comms[pid] = line.strip()
            pid = 0
    return comms


def parse_sockets(data: bytes) -> list[ListeningSocket]:
    """Parses the sockets script's output: sockets sorted by port, then protocol."""
    sections: dict[str, list[str]] = {}
    name = ""
    for line in data.decode(errors="replace").split("\n"):
        if line.startswith("==") and not line.startswith("==> "):
            name = line[2:]
            sections.setdefault(name, [])
        else:
            sections.setdefault(name, []).append(line)
    owners = parse_fd_listing("\n".join(sections.get("FDS", [])))
    comms = parse_comms("\n".join(sections.get("COMM", [])))
    out = []
    for protocol, _ in NET_FILES:
        for address, port, inode in parse_net(
            "\n".join(sections.get(f"NET {protocol}", [])), protocol
        ):
            pid = owners.get(inode, 0)
            out.append(ListeningSocket(protocol, address, port, inode, pid, comms.get(pid, "")))
    return sorted(out, key=lambda s: (s.port, s.protocol, s.address))


def list_sockets(runner: SessionRunner) -> list[ListeningSocket]:
    """The sockets the target listens on (TCP) or is bound to (UDP), IPv4 and IPv6.

    Args:
        runner: A session (or relay) whose container shares the target's network namespace.

    Raises:
        SessionError: When they cannot be read.
    """
    code, out, err = runner.run(["sh", "-c", _SOCKETS_SCRIPT], timeout=10)
    if b"==END" not in out:
        text = err.decode(errors="replace").strip()
        raise SessionError(f"cannot read the target's sockets: {text or f'exit code {code}'}")
    return parse_sockets(out)


def check_listening(sockets: Iterable[ListeningSocket], port: int, target: str) -> None:
    """Checks that the target listens on a TCP port.

    Raises:
        PortForwardError: When it does not, naming the ports it does listen on.
    """
    sockets = list(sockets)
    if any(s.transport == "tcp" and s.port == port for s in sockets):
        return
    tcp = sorted({s.port for s in sockets if s.transport == "tcp"})
    listed = ", ".join(map(str, tcp[:12])) if tcp else "none"
    raise PortForwardError(f"{target} does not listen on TCP port {port} (it listens on: {listed})")


def loopback(address: str) -> bool:
    """Whether a socket's address is the loopback's only (127.0.0.0/8, ::1)."""
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")


def publish_problems(
    sockets: Iterable[ListeningSocket], published: Iterable[PublishedPort]
) -> list[str]:
    """Why a published port would not answer from outside: nothing listens on it in the
    target, or only the target's loopback does (the engine's proxy connects to the
    container's own address, where nothing answers: `curl HOST:PUBLIC` is refused).

    Args:
        sockets: The target's listening sockets (list_sockets).
        published: The engine's published ports of the target (`docker port`).
    """
    sockets = list(sockets)
    found: dict[tuple[int, str], list[str]] = {}
    for b in published:
        if b.public_port is not None:
            host = b.host_ip if b.host_ip not in ("", "0.0.0.0", "::") else "*"
            host = f"[{host}]" if ":" in host else host
            found.setdefault((b.private_port, b.protocol), []).append(f"{host}:{b.public_port}")
    out = []
    for (port, proto), where in sorted(found.items()):
        on = f"{port}/{proto} → {', '.join(dict.fromkeys(where))}:"
        mine = [s for s in sockets if s.port == port and s.transport == proto]
        if not mine:
            out.append(f"{on} nothing listens on it")
        elif all(loopback(s.address) for s in mine):
            out.append(f"{on} bound to {mine[0].address} only, the engine's proxy cannot reach it")
    return out


def parse_port_spec(spec: str) -> tuple[int, int]:
    """`[LOCAL:]REMOTE` as `kubectl port-forward` takes it: `8080` is 8080:8080, `:80` takes
    any free local port (0).

    Returns:
        (local port, remote port).

    Raises:
        PortForwardError: When it is not that.
    """
    local_text, sep, remote_text = spec.rpartition(":")
    if not sep:
        local_text = remote_text
    try:
        remote = int(remote_text)
        local = int(local_text) if local_text else 0
    except ValueError:
        raise PortForwardError(
            f"bad port {spec!r}: expected [LOCAL:]REMOTE, e.g. 8080:80"
        ) from None
    if not 1 <= remote <= 65535 or not 0 <= local <= 65535:
        raise PortForwardError(f"bad port {spec!r}: ports are 1-65535")
    return local, remote


class _Pipe:
    """One forwarded connection: a local socket and the exec of nc that carries it."""

    def __init__(self, local: socket.socket, remote: socket.socket) -> None:
        self.local = local
        self.remote = remote
        self.closed = threading.Event()
        #: Whether the frame being read is nc's stderr (a refused connection, say): not payload.
        self._skip = False

    def pump(self) -> None:
        """Copies both ways until either side ends; the remote side speaks in 8-byte frames."""
        buf = b""
        want_header = True
        size = 0
        local_open = True
        try:
            while not self.closed.is_set():
                watch = [self.remote] + ([self.local] if local_open else [])
                readable, _, _ = select.select(watch, [], [], 1.0)
                if self.local in readable:
                    data = self.local.recv(65536)
                    if data:
                        self.remote.sendall(data)
                    else:
                        # The client is done sending: so is nc's stdin, answers still come.
                        local_open = False
                        self.remote.shutdown(socket.SHUT_WR)
                if self.remote in readable:
                    data = self.remote.recv(65536)
                    if not data:
                        return
                    buf += data
                    while True:
                        if want_header:
                            if len(buf) < 8:
                                break
                            size = int.from_bytes(buf[4:8], "big")
                            stream = buf[0]
                            buf = buf[8:]
                            want_header = False
                            self._skip = stream == 2
                        take = buf[:size]
                        if take and not self._skip:
                            self.local.sendall(take)
                        size -= len(take)
                        buf = buf[len(take) :]
                        if size:
                            break
                        want_header = True
        except OSError:
            return
        finally:
            self.close()

    def close(self) -> None:
        self.closed.set()
        for s in (self.local, self.remote):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class PortForward:
    """Forwards a local TCP port to a port in the target's network namespace, until closed.

    Args:
        engine: The engine the container runs on.
        container_id: A running container that shares the target's network namespace and has
            busybox's `nc` (a session's sidecar, or a relay).
        remote_port: The target's port.
        local_port: The local port; 0 takes any free one (see `local_port` once started).
        host: The local address to listen on.
        on_error: Called with a message when a connection cannot be relayed.
    """

    def __init__(
        self,
        engine: Engine,
        container_id: str,
        remote_port: int,
        local_port: int = 0,
        host: str = "127.0.0.1",
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.container_id = container_id
        self.remote_port = remote_port
        self.local_port = local_port
        self.host = host
        self.on_error = on_error
        self._listener: socket.socket | None = None
        self._pipes: set[_Pipe] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        #: Connections served so far.
        self.connections = 0

    def start(self) -> PortForward:
        """Listens on the local port and serves connections in threads of its own.

        Raises:
            PortForwardError: When the local port is taken or cannot be used.
        """
        listener = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.local_port))
        except OSError as exc:
            listener.close()
            if exc.errno == errno.EADDRINUSE:
                raise PortForwardError(
                    f"local port {self.local_port} is already in use",
                    hint=f"pick another: LOCAL:{self.remote_port}, or :{self.remote_port} for any",
                ) from exc
            raise PortForwardError(
                f"cannot listen on {self.host}:{self.local_port}: {exc.strerror}"
            ) from exc
        listener.listen(64)
        self.local_port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(
            target=self._accept, name=f"forward-{self.local_port}", daemon=True
        ).start()
        return self

    @property
    def address(self) -> str:
        """host:port, an IPv6 host in brackets ([::1]:8080), as a URL takes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.local_port}"

    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._closed.is_set():
            try:
                readable, _, _ = select.select([listener], [], [], 0.5)
                if not readable:
                    continue
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            remote = self.engine.exec_socket(
                self.container_id, ["nc", "127.0.0.1", str(self.remote_port)]
            )
        except CdebugError as exc:
            conn.close()
            if self.on_error is not None and not self._closed.is_set():
                self.on_error(str(exc))
            return
        pipe = _Pipe(conn, remote)
        with self._lock:
            if self._closed.is_set():
                pipe.close()
                return
            self._pipes.add(pipe)
            self.connections += 1
        try:
            pipe.pump()
        finally:
            with self._lock:
                self._pipes.discard(pipe)

    @property
    def active(self) -> int:
        """Connections open now."""
        with self._lock:
            return len(self._pipes)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """Stops listening and ends every connection (their nc execs end with them)."""
        self._closed.set()
        if self._listener is not None:
            # shutdown first: a close alone leaves the socket listening while the accept
            # thread's select still holds it (connections were taken after close returned).
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        with self._lock:
            pipes = list(self._pipes)
        for pipe in pipes:
            pipe.close()


class Relay:
    """A minimal container in the target's network namespace, for `port-forward`: the toolkit
    image running `cat` on stdin that this process holds, removed when that closes (or this
    process dies). It shares only the network namespace and changes nothing in the target."""

    def __init__(self, engine: Engine, target: TargetInfo, image: str) -> None:
        self.engine = engine
        self.target = target
        session = uuid.uuid4().hex[:8]
        labels = {
            SIDECAR_LABEL: "relay",
            TARGET_LABEL: target.id,
            OWNER_LABEL: f"{socket.gethostname()}:{os.getpid()}",
            SESSION_LABEL: session,
        }
        name = f"cdebug-forward-{target.name[:40]}-{session}"
        self.id, self._keepalive = engine.start_relay(image, target.id, name, labels)

    def run(self, argv: list[str], timeout: float = 10.0) -> tuple[int, bytes, bytes]:
        """Runs a command in the relay: (exit code, stdout, stderr)."""
        stream = Stream(self.engine.exec_socket(self.id, argv), tty=False)
        try:
            stream.close_write()
            read = stream.read_all(timeout)
        finally:
            stream.close()
        if read is None:
            raise SessionError("the relay did not answer in time")
        return 0, *read

    def close(self, timeout: float = 10.0) -> None:
        """Ends the relay: its stdin closes, cat ends, the engine removes it."""
        try:
            self._keepalive.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._keepalive.close()
        try:
            self.engine.remove_container(self.id)
        except CdebugError:
            pass
