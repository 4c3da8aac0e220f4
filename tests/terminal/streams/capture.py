"""Provides a script that records real program output through a PTY into *.bin files.

Run from the repository root: ``python tests/terminal/streams/capture.py``. The recorded
files are committed; the script is kept so they can be regenerated.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from pathlib import Path

HERE = Path(__file__).parent


def record(
    name: str,
    argv: list[str],
    keys: list[tuple[float, bytes]],
    rows: int = 24,
    cols: int = 80,
    settle: float = 0.6,
) -> None:
    """Run argv in a PTY of rows x cols, send keys after delays, save everything it printed."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color", LANG="C.UTF-8", PS1="$ ", HOME="/tmp")
        os.execvp(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = bytearray()
    plan = list(keys)
    deadline = time.monotonic()
    while True:
        timeout = 0.05
        r, _, _ = select.select([fd], [], [], timeout)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if plan and time.monotonic() - deadline >= plan[0][0]:
            os.write(fd, plan.pop(0)[1])
            deadline = time.monotonic()
        if not plan and time.monotonic() - deadline > settle:
            break
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    (HERE / f"{name}.bin").write_bytes(bytes(out))
    print(name, len(out), file=sys.stderr)


def main() -> None:
    """Record all streams used by the tests."""
    sample = Path("/tmp/cdebug-sample.txt")
    sample.write_text("".join(f"line {i}: the quick brown fox 日本語 ok\n" for i in range(200)))
    sh = ["/bin/busybox", "sh", "-i"]
    record(
        "vi",
        sh,
        [
            (0.3, b"echo before-vi-marker\r"),
            (0.3, b"busybox vi /tmp/cdebug-sample.txt\r"),
            (0.6, b"jjjx"),
            (0.3, b"\x06"),
            (0.3, b":q!\r"),
            (0.4, b"echo after-vi\r"),
        ],
    )
    record(
        "less",
        sh,
        [
            (0.3, b"echo before-less-marker\r"),
            (0.3, b"busybox less /tmp/cdebug-sample.txt\r"),
            (0.5, b" "),
            (0.3, b"q"),
            (0.4, b"echo after-less\r"),
        ],
    )
    record("top", ["/bin/busybox", "top", "-d", "1"], [(1.5, b"q")], settle=0.3)
    record(
        "ls_color",
        sh,
        [
            (0.3, b"busybox ls --color=always -la /usr /etc/ssl /bin | head -60\r"),
            (
                0.5,
                b"printf '\\033[1;31mRED\\033[0m \\033[38;5;208mORANGE\\033[0m "
                b"\\033[38;2;10;200;30mTRUE\\033[0m \\033[7mREV\\033[0m\\n'\r",
            ),
        ],
    )
    record(
        "wide",
        sh,
        [(0.3, b"printf '\\345\\256\\275\\345\\255\\227|ab\\360\\237\\230\\200|end\\n'\r")],
    )


if __name__ == "__main__":
    main()
