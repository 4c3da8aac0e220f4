"""Provides the test images, built on the machine with `docker import`: no registry is needed."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from cdebug_tui.engine.client import Engine
from cdebug_tui.engine.toolkit import DEFAULT_PATH, busybox_rootfs_tar, host_busybox

PAUSE_C = r"""
#include <signal.h>
#include <unistd.h>
static void bye(int s) { (void)s; _exit(0); }
int main(void) { signal(SIGTERM, bye); signal(SIGINT, bye); for (;;) pause(); }
"""
# The shell-less app target of the logs and ports tests: `app log N CODE` writes N lines to
# stdout and stderr in turn, then exits with CODE (or waits, for CODE < 0); `app tick MS` writes
# a line every MS ms; `app http PORT` serves HTTP on 127.0.0.1:PORT only (never published), a
# process per connection (`/slow` answers after a second), and binds UDP 127.0.0.1:PORT+1 and
# TCP [::1]:PORT+2 so that every kind of socket is there to be listed.
APP_C = r"""
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static void bye(int s) { (void)s; _exit(0); }
static void serve(int c, int port) {
  char req[4096]; int n = 0, r;
  while (n < (int)sizeof req - 1 && (r = read(c, req + n, sizeof req - 1 - n)) > 0) {
    n += r; req[n] = 0; if (strstr(req, "\r\n\r\n")) break;
  }
  char path[256] = "/"; sscanf(req, "GET %255s", path);
  printf("GET %s\n", path); fflush(stdout);
  if (strncmp(path, "/slow", 5) == 0) sleep(1);
  char body[512], head[256];
  int bl = snprintf(body, sizeof body, "hello from port %d: %s\n", port, path);
  int hl = snprintf(head, sizeof head, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n", bl);
  write(c, head, hl); write(c, body, bl); close(c);
}
static int http(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16)) { perror("bind"); return 1; }
  int u = socket(AF_INET, SOCK_DGRAM, 0); a.sin_port = htons(port + 1);
  bind(u, (struct sockaddr *)&a, sizeof a);
  int s6 = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 a6 = {0}; a6.sin6_family = AF_INET6; a6.sin6_port = htons(port + 2);
  a6.sin6_addr = in6addr_loopback;
  if (s6 >= 0 && !bind(s6, (struct sockaddr *)&a6, sizeof a6)) listen(s6, 4);
  printf("listening on 127.0.0.1:%d\n", port); fflush(stdout);
  signal(SIGCHLD, SIG_IGN);
  for (;;) {
    int c = accept(s, 0, 0); if (c < 0) continue;
    if (fork() == 0) { close(s); serve(c, port); _exit(0); }
    close(c);
  }
}
int main(int argc, char **argv) {
  signal(SIGTERM, bye); signal(SIGINT, bye);
  if (argc > 3 && !strcmp(argv[1], "log")) {
    int n = atoi(argv[2]), code = atoi(argv[3]);
    for (int i = 0; i < n; i++) {
      if (i % 2) { fprintf(stderr, "err %d\n", i); fflush(stderr); }
      else { printf("out %d\n", i); fflush(stdout); }
    }
    if (code >= 0) return code;
    for (;;) pause();
  }
  if (argc > 2 && !strcmp(argv[1], "tick")) {
    struct timespec t = {0, atoi(argv[2]) * 1000000L};
    for (int i = 0;; i++) {
      if (i % 5 == 4) { fprintf(stderr, "tock %d\n", i); fflush(stderr); }
      else { printf("tick %d\n", i); fflush(stdout); }
      nanosleep(&t, 0);
    }
  }
  if (argc > 2 && !strcmp(argv[1], "http")) return http(atoi(argv[2]));
  for (;;) pause();
}
"""

CRASH_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
    char cwd[256] = "?";
    FILE *f = fopen("/tmp/crash.log", "a");
    if (getcwd(cwd, sizeof cwd) == NULL) cwd[0] = '?';
    if (f) {
        fprintf(f, "crashed as uid=%d in %s mode=%s\n", (int)getuid(), cwd, getenv("APP_MODE"));
        fclose(f);
    }
    fprintf(stderr, "fatal: cannot reach the database\n");
    return 3;
}
"""
# Host tools a dynamic toolkit carries, with the libraries `ldd` names for them.
DYNAMIC_TOOLS = (
    "sh",
    "ls",
    "cat",
    "id",
    "chroot",
    "nsenter",
    "env",
    "readlink",
    "tr",
    "grep",
    "ln",
    "rm",
    "ps",
    "stat",
    "sleep",
    "head",
)
#: Host tools the dynamic toolkit carries too when the host has them (the tests that need one
#: ask for it, see tests/conftest.py: strace_toolkit); the nix-style toolkit leaves them out.
DYNAMIC_EXTRAS = ("strace",)
#: Where the node target has the host's node, as Google's distroless node image has it.
NODE_PATH = "nodejs/bin/node"


def _dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def _file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def static_pause_binary(workdir: Path) -> Path:
    """A static program that waits for a signal: the one binary of a distroless target."""
    return _static_binary(workdir, "server", PAUSE_C)


def static_crash_binary(workdir: Path) -> Path:
    """A static program that writes /tmp/crash.log (its uid, workdir, APP_MODE) and exits 3."""
    return _static_binary(workdir, "crash", CRASH_C)


def _static_binary(workdir: Path, name: str, source: str) -> Path:
    out = workdir / name
    if out.exists():
        return out
    src = workdir / f"{name}.c"
    src.write_text(source)
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("a C compiler is needed to build the distroless test target")
    subprocess.run([cc, "-static", "-Os", "-o", str(out), str(src)], check=True)
    return out


def static_app_binary(workdir: Path) -> Path:
    """The static program of the app target (APP_C)."""
    out = workdir / "app"
    if out.exists():
        return out
    src = workdir / "app.c"
    src.write_text(APP_C)
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("a C compiler is needed to build the app test target")
    subprocess.run([cc, "-static", "-Os", "-o", str(out), str(src)], check=True)
    return out


def app_tar(workdir: Path) -> bytes:
    """A shell-less root filesystem with the one static app binary."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("app", "etc", "tmp"):
            _dir(tar, d, 0o1777 if d == "tmp" else 0o755)
        tar.add(str(static_app_binary(workdir)), arcname="app/app")
        _file(tar, "etc/passwd", b"root:x:0:0:root:/root:/sbin/nologin\n")
    return buf.getvalue()


def _distroless_base(tar: tarfile.TarFile) -> None:
    """The folders and users of a distroless root filesystem (root, and nonroot as 65532)."""
    for d in ("app", "etc", "home", "home/nonroot", "tmp"):
        _dir(tar, d, 0o1777 if d == "tmp" else 0o755)
    _file(
        tar,
        "etc/passwd",
        b"root:x:0:0:root:/root:/sbin/nologin\n"
        b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    )
    _file(tar, "etc/group", b"root:x:0:\nnonroot:x:65532:\n")


def distroless_tar(workdir: Path, binary: Path | None = None) -> bytes:
    """A root filesystem with one static binary, no shell, users as distroless has them."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _distroless_base(tar)
        tar.add(str(binary or static_pause_binary(workdir)), arcname="app/server")
        _file(tar, "app/config.json", b'{"listen": ":8080"}\n')
    return buf.getvalue()


def _ldd(path: str) -> list[str]:
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) > parts.index("=>") + 1:
            lib = parts[parts.index("=>") + 1]
            if lib.startswith("/"):
                libs.append(lib)
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])
    return libs


def _host_tool(name: str) -> str | None:
    if name == "sh":
        return shutil.which("dash") or shutil.which("sh")
    return shutil.which(name)


def _add_with_libs(files: dict[str, str], name: str, path: str) -> None:
    """Adds a host binary at `name` in the image, and every library `ldd` names for it.

    Args:
        files: Path in the image -> host file, or "->target" for a link; filled in.
        name: Where the binary goes in the image (no leading slash).
        path: The binary on the host.
    """
    files[name] = os.path.realpath(path)
    for lib in _ldd(path):
        real = os.path.realpath(lib)
        files[real.lstrip("/")] = real
        # The name the loader asks for, in its real directory (merged /usr: /lib -> usr/lib).
        named = os.path.join(os.path.realpath(os.path.dirname(lib)), os.path.basename(lib))
        if named != real:
            files[named.lstrip("/")] = "->" + os.path.relpath(real, os.path.dirname(named))


def _add_tree(tar: tarfile.TarFile, files: dict[str, str]) -> None:
    """Writes `files` (see _add_with_libs), their directories and the host's top-level links
    (/lib64 -> usr/lib64 on a merged /usr) into `tar`."""
    dirs: set[str] = set()
    for name in files:
        parts = name.split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    for top in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        if os.path.islink("/" + top):
            _link(tar, top, os.readlink("/" + top))
    for d in sorted(dirs):
        _dir(tar, d)
    for name, src in sorted(files.items()):
        if src.startswith("->"):
            _link(tar, name, src[2:])
        else:
            tar.add(src, arcname=name)


def dynamic_toolkit_tar() -> bytes:
    """A Debian-like toolkit: the host's dynamically linked tools and the libraries they need,
    strace among them when the host has it (DYNAMIC_EXTRAS)."""
    buf = io.BytesIO()
    files: dict[str, str] = {}  # path in the image -> host file, or "->target" for a link
    for tool in (*DYNAMIC_TOOLS, *DYNAMIC_EXTRAS):
        path = _host_tool(tool)
        if path is not None:
            _add_with_libs(files, f"usr/bin/{tool}", path)
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _dir(tar, "tmp", 0o1777)
        _add_tree(tar, files)
    return buf.getvalue()


def host_node() -> str | None:
    """The host's node (Debian: nodejs), or None."""
    found = shutil.which("node") or shutil.which("nodejs")
    return os.path.realpath(found) if found else None


def node_tar(node: str) -> bytes:
    """A shell-less root filesystem as Google's distroless node image has it: the host's
    `node` at /nodejs/bin/node with the libraries `ldd` names for it, users as distroless has
    them, and an /app directory; no shell, no other tool."""
    buf = io.BytesIO()
    files: dict[str, str] = {}
    _add_with_libs(files, NODE_PATH, node)
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _distroless_base(tar)
        _add_tree(tar, files)
    return buf.getvalue()


def nix_toolkit_tar(workdir: Path) -> bytes:
    """A nixery-style toolkit: binaries and their interpreter under /nix/store, /bin a link.

    The host's tools are copied and patched (patchelf) to use an interpreter and libraries in
    the store, as Nix builds them, so they run only where /nix/store is.
    """
    patchelf = shutil.which("patchelf")
    if patchelf is None:
        raise RuntimeError("patchelf is needed to build the nix-style test toolkit")
    store_glibc = "nix/store/0c2fpvxfx9z3bd0v6rw8kkvnxx0x1c3h-glibc-2.36"
    store_tools = "nix/store/7q3r5l2yqkz4f6f3q8i7lpmgwm4w6xls-shell-tools"
    buf = io.BytesIO()
    with (
        tempfile.TemporaryDirectory(dir=workdir) as tmp,
        tarfile.open(fileobj=buf, mode="w") as tar,
    ):
        for d in ("nix", "nix/store", store_glibc, f"{store_glibc}/lib", store_tools):
            _dir(tar, d)
        _dir(tar, f"{store_tools}/bin")
        _dir(tar, "tmp", 0o1777)
        _link(tar, "bin", f"/{store_tools}/bin")
        libs: set[str] = set()
        interp = ""
        for tool in DYNAMIC_TOOLS:
            path = _host_tool(tool)
            if path is None:
                continue
            copy = Path(tmp) / tool
            shutil.copy(os.path.realpath(path), copy)
            for lib in _ldd(str(copy)):
                if "ld-linux" in lib:
                    interp = os.path.basename(lib)
                libs.add(os.path.realpath(lib) + "|" + os.path.basename(lib))
            subprocess.run(
                [
                    patchelf,
                    "--force-rpath",
                    "--set-interpreter",
                    f"/{store_glibc}/lib/{interp or 'ld-linux-x86-64.so.2'}",
                    "--set-rpath",
                    f"/{store_glibc}/lib",
                    str(copy),
                ],
                check=True,
            )
            tar.add(str(copy), arcname=f"{store_tools}/bin/{tool}")
        for entry in sorted(libs):
            real, name = entry.split("|")
            tar.add(real, arcname=f"{store_glibc}/lib/{name}")
    return buf.getvalue()


def nix_static_toolkit_tar(busybox: str) -> bytes:
    """A nixery-style toolkit of static binaries: a busybox in /nix/store, /bin an absolute
    link to its bin directory (what made root mode exit 127 once)."""
    store = "nix/store/4vz3cs0wx4kbvmf1bd1z9n8hxj0bq4yv-busybox-static-1.36.1"
    applets = subprocess.run(
        [busybox, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("nix", "nix/store", store, f"{store}/bin"):
            _dir(tar, d)
        _dir(tar, "tmp", 0o1777)
        tar.add(busybox, arcname=f"{store}/bin/busybox")
        for applet in applets:
            if applet != "busybox" and "/" not in applet:
                _link(tar, f"{store}/bin/{applet}", "busybox")
        _link(tar, "bin", f"/{store}/bin")
    return buf.getvalue()


class TestImages:
    """Builds the test images under one per-run prefix and removes them at the end."""

    __test__ = False  # a builder, not a test class

    def __init__(self, engine: Engine, prefix: str, workdir: Path) -> None:
        self.engine = engine
        self.prefix = prefix
        self.workdir = workdir
        self.made: list[str] = []

    def _import(self, name: str, data: bytes, changes: list[str]) -> str:
        ref = f"{self.prefix}/{name}:latest"
        self.engine.import_rootfs(data, ref, changes)
        self.made.append(ref)
        return ref

    def busybox(self) -> str:
        busybox = host_busybox()
        if busybox is None:
            raise RuntimeError("a static busybox is needed (Debian: busybox-static)")
        return self._import(
            "busybox", busybox_rootfs_tar(busybox), [f"ENV PATH={DEFAULT_PATH}", 'CMD ["sh"]']
        )

    def distroless(self) -> str:
        return self._import(
            "distroless",
            distroless_tar(self.workdir),
            [
                "ENV PATH=/app/bin:/usr/local/bin:/usr/bin",
                "ENV APP_MODE=production",
                "WORKDIR /app",
                "USER 65532",
                'ENTRYPOINT ["/app/server"]',
            ],
        )

    def app(self) -> str:
        """A shell-less target whose one binary logs and serves (see APP_C)."""
        return self._import("app", app_tar(self.workdir), ['ENTRYPOINT ["/app/app"]'])

    def crasher(self) -> str:
        """A shell-less image whose program writes /tmp/crash.log as uid 65532 and exits 3."""
        return self._import(
            "crasher",
            distroless_tar(self.workdir, static_crash_binary(self.workdir)),
            [
                "ENV PATH=/app/bin:/usr/local/bin:/usr/bin",
                "ENV APP_MODE=production",
                "WORKDIR /app",
                "USER nonroot",
                'ENTRYPOINT ["/app/server"]',
                'CMD ["--db", "db:5432"]',
            ],
        )

    def node(self) -> str:
        """A shell-less node target, like gcr.io/distroless/nodejs: `node` is its entrypoint."""
        node = host_node()
        if node is None:
            raise RuntimeError("node is needed for the node test target (Debian: nodejs)")
        return self._import(
            "node",
            node_tar(node),
            [
                "ENV PATH=/usr/local/bin:/usr/bin:/bin",
                "WORKDIR /app",
                "USER 65532",
                f'ENTRYPOINT ["/{NODE_PATH}"]',
            ],
        )

    def dynamic_toolkit(self) -> str:
        return self._import("dyntools", dynamic_toolkit_tar(), ["ENV PATH=/usr/bin:/bin"])

    def nix_toolkit(self) -> str:
        return self._import("nixtools", nix_toolkit_tar(self.workdir), ["ENV PATH=/bin"])

    def nix_static_toolkit(self) -> str:
        busybox = host_busybox()
        if busybox is None:
            raise RuntimeError("a static busybox is needed (Debian: busybox-static)")
        return self._import("nixstatic", nix_static_toolkit_tar(busybox), ["ENV PATH=/bin"])

    def remove_all(self) -> None:
        for ref in self.made:
            try:
                self.engine.api.remove_image(ref, force=True)
            except Exception:  # noqa: BLE001 - the image may be gone already
                pass
