"""Provides ExplainScreen: a short "what am I looking at" for each panel of a session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["EXPLANATIONS", "Explanation", "ExplainScreen"]


@dataclass(frozen=True)
class Explanation:
    """What one panel shows, for someone who has never heard of namespaces."""

    title: str
    text: str
    #: Where to read more: man pages, as `man 7 namespaces` would open them.
    see_also: tuple[str, ...]


EXPLANATIONS: dict[str, Explanation] = {
    "terminal": Explanation(
        "The debug shell",
        "This shell does not run in the target, which may have none: it runs in a sidecar "
        "container started next to it from a toolkit image (busybox), joined to the target's "
        "PID and network namespaces.\n\n"
        "The sidecar linked its own root into the target's root as /.cdebug-<session>, then "
        "started the shell with chroot /proc/1/root: the target's root became the shell's /. "
        "So `ls /` lists the target's files, `ps` shows the target's processes, and the "
        "toolkit's commands are found through PATH under the link.\n\n"
        "In toolkit mode (a dynamically linked toolkit, a read-only target) the shell keeps "
        "the toolkit's root and the target's files are at /target. A stopped target has no "
        "namespaces to join: the shell runs in a debug copy of it (COPY in the header), "
        "removed at the end. `exit` or Ctrl-D ends the session; the link and the sidecar go.",
        ("chroot(2)", "proc(5): /proc/pid/root", "pid_namespaces(7)", "pty(7)"),
    ),
    "processes": Explanation(
        "The target's processes",
        "These are the processes of the target's PID namespace. The sidecar joined that "
        "namespace (docker run --pid container:TARGET), so it sees them numbered as the "
        "target numbers them: the target's main process is PID 1.\n\n"
        "The sidecar's own processes live there too: its supervisor (the script that made "
        "the link and removes it at the end), the reapers (tini and a script) that end what "
        "the session leaves behind, and your shell. The list hides them, as the title says; "
        "o shows them (ps in the shell always does). Outside, the host numbers "
        "the same processes differently (the internals panel shows PID 1's host PID).\n\n"
        "Like ps, the list is read from /proc in that namespace: /proc/PID/status (user, "
        "memory), /proc/PID/stat (CPU time), /proc/PID/cmdline (the command).",
        ("pid_namespaces(7)", "proc(5): /proc/pid/stat, /proc/pid/status", "ps(1)"),
    ),
    "rootfs": Explanation(
        "The target's root filesystem",
        "These are the target's files as its own processes see them, read through "
        "/proc/1/root: the kernel's link to the root directory of the target's PID 1, with "
        "that process's mounts (the image layers, volumes, tmpfs).\n\n"
        "Following another process's /proc/PID/root is allowed only to a process that may "
        "ptrace it; the target's app runs as another user (65532 in distroless images), so "
        "the sidecar needs CAP_SYS_PTRACE, the one capability it adds.\n\n"
        "Marks A, C and D are what `docker diff` reports: added, changed or deleted in the "
        "container's writable layer. /.cdebug-<session> is this session's link to the "
        "toolkit; it goes away when the session ends. ctrl+s saves a file on this host "
        "through the engine's archive API, as `docker cp` does: nothing runs in the target.",
        ("proc(5): /proc/pid/root", "ptrace(2): ptrace access mode checking", "chroot(2)"),
    ),
    "internals": Explanation(
        "What makes a container",
        "A container is an ordinary Linux process with a few kernel features set on it:\n"
        "  namespaces    what it can see (processes, network, mounts, hostname, ...)\n"
        "  capabilities  which of root's powers it keeps\n"
        "  cgroup        how much memory, CPU and how many processes it may use\n"
        "  mounts        which files it sees, starting with its root filesystem\n\n"
        "This panel reads them live from /proc through the sidecar (/proc/1/ns, "
        "/proc/1/status, /proc/1/cgroup, /proc/1/mountinfo) and compares the target's "
        "PID 1 with your debug shell. The first section lists the commands cdebug-tui ran "
        "to put the shell where it is. Click a section's heading for more on it.",
        ("namespaces(7)", "capabilities(7)", "cgroups(7)", "proc(5)"),
    ),
    "namespaces": Explanation(
        "Namespaces",
        "A namespace gives the processes in it their own view of one kind of resource: pid "
        "(which processes exist, and their numbers), net (interfaces, ports, localhost), "
        "mnt (the mounts, hence the files), uts (the hostname), ipc, user (uids), cgroup, "
        "time.\n\n"
        "Each namespace has an inode number: `readlink /proc/1/ns/pid` prints "
        "pid:[4026532332]. Two processes with the same number share that namespace.\n\n"
        "The sidecar was started with --pid container:TARGET --network container:TARGET: pid "
        "and net are shared, so your shell sees the target's processes and sockets. Its mnt "
        "namespace stays its own (the toolkit's files); it reaches the target's files "
        "through /proc/1/root, and chroot makes them the shell's /.",
        (
            "namespaces(7)",
            "pid_namespaces(7)",
            "network_namespaces(7)",
            "mount_namespaces(7)",
            "nsenter(1)",
        ),
    ),
    "capabilities": Explanation(
        "Capabilities",
        "Linux splits root's power into about 40 capabilities (CAP_NET_ADMIN, CAP_SYS_ADMIN, "
        "...). A container's root keeps only some 14 of them by default; a process that is "
        "not root, like the distroless app (uid 65532), has none in effect. The bounding set "
        "is the most a process could ever gain.\n\n"
        "The sidecar keeps the target's set and adds CAP_SYS_PTRACE: reading "
        "/proc/1/root of another user's process is a ptrace access check, and it also lets "
        "you run strace or gdb on the target.\n\n"
        "seccomp filters which system calls may be made, AppArmor confines files and "
        "operations, no-new-privileges stops setuid programs from gaining privileges.",
        ("capabilities(7)", "credentials(7)", "ptrace(2)", "seccomp(2)"),
    ),
    "cgroup": Explanation(
        "cgroup",
        "A control group counts and limits what a group of processes uses: memory, CPU time, "
        "the number of processes. `docker run --memory 64m` writes 67108864 to the target's "
        "memory.max (cgroup v2; memory.limit_in_bytes in v1). When the group cannot stay "
        "under that limit, the kernel's OOM killer ends one of its processes.\n\n"
        "The figures are read every 2 s from the target's /sys/fs/cgroup through "
        "/proc/1/root. The sidecar is a container of its own with its own cgroup: what you "
        "run in the debug shell is not counted against the target's limits.",
        ("cgroups(7)", "proc(5): /proc/pid/cgroup", "docker-run(1): --memory, --cpus"),
    ),
    "mounts": Explanation(
        "Mounts",
        "The target's mount table, from /proc/1/mountinfo. Its root (/) is an overlay: the "
        "image's read-only layers stacked, with one writable layer on top; what `docker diff` "
        "shows is that writable layer, and `docker rm` discards it.\n\n"
        "/proc, /sys and /dev are the kernel's views, with some paths masked or read-only. "
        "/etc/hosts, /etc/hostname and /etc/resolv.conf are files the engine bind-mounts in. "
        "Volumes and bind mounts come from outside the image.\n\n"
        "The sidecar has a mount namespace of its own, so it sees these mounts only through "
        "/proc/1/root.",
        ("mount_namespaces(7)", "proc(5): /proc/pid/mountinfo", "mount(8)"),
    ),
    "steps": Explanation(
        "Steps",
        "Everything cdebug-tui did to start this session, in order, with how long each took, "
        "written as the commands you could type yourself: docker inspect the target; docker "
        "create the sidecar with --pid container: and --network container:; docker start -a "
        "-i it (the supervisor reads its stdin, and cleans up when it closes); the "
        "supervisor's ln -s /proc/<its PID>/root /proc/1/root/.cdebug-<session>; docker exec "
        "the shell with chroot /proc/1/root.\n\n"
        "Enter, c or a click copies a command. The docker create line reads the supervisor's "
        "script from supervisor.sh: o shows it in the steps, and `docker exec <sidecar> "
        "printenv CDEBUG_SUPERVISOR > supervisor.sh` saves it while the session runs. When "
        "the session ends the supervisor removes its link and the engine removes the sidecar "
        "(--rm).",
        ("docker-create(1)", "docker-start(1)", "docker-exec(1)", "symlink(7)", "chroot(2)"),
    ),
    "logs": Explanation(
        "Logs",
        "What the target's main process (PID 1) and its children wrote to stdout and stderr "
        "(stderr marked). The engine collects that output through pipes it holds, not from "
        "inside the container, and its log driver stores it on the host: json-file, the "
        "default, one JSON record per line with a timestamp. `docker logs` reads it back "
        "through the engine's API, and so does this view: a crashed container's last words "
        "are here, and nothing runs in the target to read them.\n\n"
        "A program that writes its log to a file inside the container is not here: find "
        "the file in the rootfs panel. With --log-driver none nothing is kept; syslog or "
        "fluentd send it away, and the engine cannot read it back.\n\n"
        "The view opens at the last lines and reads older ones as you scroll up (a log of "
        "gigabytes is never read whole); at the bottom it follows new lines. / searches, t "
        "shows the timestamps, w wraps, ctrl+s saves.",
        ("docker-logs(1)", "docker-run(1): --log-driver, --log-opt max-size", "pipe(7)"),
    ),
    "ports": Explanation(
        "Ports",
        "The sockets the target listens on, TCP and UDP, IPv4 and IPv6: read from "
        "/proc/net/tcp, tcp6, udp and udp6 by the sidecar. Those files describe the network "
        "namespace of the process that reads them, and the sidecar shares the target's "
        "(--network container:TARGET), so they list the target's sockets. Each socket's "
        "process is found by its inode among the socket:[INODE] links in /proc/PID/fd.\n\n"
        "A port is published when the engine forwards a host port to it (docker run -p): "
        "the column says which. One that is not published is still reachable from inside "
        "the namespace, which is how Enter forwards it: cdebug-tui listens on a local port "
        "and runs, for each connection, `nc 127.0.0.1 PORT` in the sidecar, copying bytes "
        "both ways. Nothing is published and the target does not restart.\n\n"
        "A socket bound to 127.0.0.1 only answers from inside the namespace; 0.0.0.0 or :: "
        "answers on every interface of it.",
        ("network_namespaces(7)", "proc(5): /proc/net/tcp", "ss(8)", "nc(1)"),
    ),
    "events": Explanation(
        "Events",
        "What the engine reported of this container, as `docker events --filter container=` "
        "shows it: created, started, died (with its main process's exit code: 137 is SIGKILL, "
        "often from the OOM killer, 143 SIGTERM), killed (with the signal), oom (the kernel's "
        "OOM killer ended a process of its cgroup), health_status changes, execs (exec_create, "
        "exec_start, exec_die: someone ran `docker exec`), pause, rename, destroy.\n\n"
        "A crash loop reads as die, start, die, ... with the restart policy's growing delays "
        "between them. Docker keeps only its latest 256 events in memory, of all containers, "
        "and none across its restarts; cdebug-tui keeps what it heard while it ran and shows "
        "both, so a long crash loop's early restarts stay. New events show as they come.",
        ("docker-events(1)", "docker-run(1): --restart", "signal(7)"),
    ),
    "stats": Explanation(
        "Resource use",
        "CPU, memory, network and block I/O of the target, as `docker stats` shows them. The "
        "engine reads them from the target's cgroup (the kernel's accounting of the group's "
        "processes) and its network namespace's interface counters; cdebug-tui asks for one "
        "reading every 2 s at most and turns two readings into rates.\n\n"
        "CPU is a percentage of one core: 200% is two cores busy. Memory is what the cgroup "
        "charges (page cache included, less what can be reclaimed), drawn against the "
        "limit when there is one (docker run --memory): at the limit the kernel reclaims "
        "memory, then its OOM killer ends a process.\n\n"
        "The sidecar has its own cgroup: what you run in the debug shell is not counted here.",
        ("cgroups(7)", "docker-stats(1)", "docker-run(1): --memory, --cpus"),
    ),
    "containers": Explanation(
        "Containers",
        "Every container of every engine you configured, live: the engine sends an event for "
        "every change and the row is read again. A container is a process tree started from "
        "an image, with namespaces, a cgroup and a root filesystem of its own; it is kept "
        "after its process ends, with the exit code, until removed.\n\n"
        "STATE: created, running, paused (frozen), exited (N): its main process ended with N "
        "(137: SIGKILL, often the OOM killer), restarting (N): its restart policy starts it "
        "again. ↻N: restarted N times since last started by hand: a crash loop. SHELL: "
        "whether the image has one; distroless and scratch have none, so `docker exec sh` "
        "fails, and cdebug-tui brings its own. CPU, MEM: the rows on screen; PORTS: -p.\n\n"
        "Enter debugs (a stopped one through a copy), l shows the log, i inspects, S stats, "
        "E its events.",
        ("docker-ps(1)", "docker-events(1)", "namespaces(7)", "cgroups(7)"),
    ),
    "inspect": Explanation(
        "Inspect",
        "The container's configuration and state as the engine keeps them (`docker "
        "inspect`), grouped: what runs (image, entrypoint and command, user, working "
        "directory, environment), what it sees (mounts, networks, ports), what it may use "
        "(memory and CPU limits, restart policy) and what it may do (privileged, "
        "capabilities added or dropped, seccomp and AppArmor profiles, a read-only root).\n\n"
        "The image gives the defaults and docker run's options override them. Values that "
        "look like secrets are masked: v reveals them, c copies a value. State says how it "
        "last ended (exit code, OOMKilled when the kernel's OOM killer ended it, when it "
        "started and finished); Health, the last probes of its healthcheck with their output.",
        ("docker-inspect(1)", "docker-run(1)", "capabilities(7)", "seccomp(2)"),
    ),
}


class ExplainScreen(ModalScreen[None]):
    """A short explanation of one panel, with where to read more; Esc or q closes it.

    Args:
        topic: One of EXPLANATIONS' keys: "terminal", "processes", "rootfs", "internals",
            "namespaces", "capabilities", "cgroup", "mounts", "steps", "logs", "ports",
            "stats", "containers", "inspect".

    Raises:
        ValueError: For an unknown topic.
    """

    DEFAULT_CSS = """
    ExplainScreen {
        align: center middle;
    }
    ExplainScreen > Vertical {
        width: 90%;
        max-width: 84;
        height: auto;
        max-height: 90%;
        border: round $primary;
        border-title-color: $primary;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0 1;
    }
    ExplainScreen VerticalScroll {
        height: auto;
        /* Bounded, so that on a short terminal the text scrolls inside the border. */
        max-height: 85vh;
    }
    ExplainScreen .explain-text {
        height: auto;
    }
    ExplainScreen .explain-see-also {
        height: auto;
        margin-top: 1;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, topic: str) -> None:
        if topic not in EXPLANATIONS:
            raise ValueError(f"no explanation of {topic!r}; topics: {', '.join(EXPLANATIONS)}")
        super().__init__()
        self.topic = topic
        self.explanation = EXPLANATIONS[topic]

    def compose(self) -> ComposeResult:
        explanation = self.explanation
        with Vertical() as box:
            box.border_title = f"What am I looking at? {explanation.title}"
            box.border_subtitle = "Esc or q closes"
            with VerticalScroll():
                yield Static(Content(explanation.text), classes="explain-text")
                yield Static(
                    Content.assemble(
                        ("Read more: ", "bold"), ", ".join(f"man {m}" for m in _man(explanation))
                    ),
                    classes="explain-see-also",
                )

    def action_close(self) -> None:
        self.dismiss()


def _man(explanation: Explanation) -> list[str]:
    """`chroot(2)` as the command that opens it: `2 chroot`, keeping any note after it."""
    out = []
    for ref in explanation.see_also:
        page, _, note = ref.partition(": ")
        name, _, section = page.rstrip(")").partition("(")
        out.append(f"{section} {name}" + (f" ({note})" if note else ""))
    return out
