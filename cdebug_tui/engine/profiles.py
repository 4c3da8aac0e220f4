"""Provides the sidecar's privilege profiles, as `kubectl debug --profile` has them."""

from __future__ import annotations

from dataclasses import dataclass

from cdebug_tui.errors import ProfileError

DEFAULT_PROFILE = "general"


@dataclass(frozen=True)
class Profile:
    """What a profile changes in the sidecar's privileges, on top of the target's own.

    Attributes:
        name: As given with --profile.
        summary: One line for the user.
        cap_add: Capabilities added to the target's.
        drop_all: Start from no capability at all (then cap_add), not from the target's.
        privileged: Run the sidecar --privileged.
    """

    name: str
    summary: str
    cap_add: tuple[str, ...] = ()
    drop_all: bool = False
    privileged: bool = False


PROFILES = {
    p.name: p
    for p in (
        Profile(
            "general",
            "the target's capabilities and SYS_PTRACE (the default)",
            cap_add=("SYS_PTRACE",),
        ),
        Profile(
            "netadmin",
            "adds NET_ADMIN and NET_RAW: tcpdump, iptables, ip in the target's network namespace",
            cap_add=("SYS_PTRACE", "NET_ADMIN", "NET_RAW"),
        ),
        Profile(
            "sysadmin",
            "a --privileged sidecar: every capability and device of the host",
            cap_add=("SYS_PTRACE",),
            privileged=True,
        ),
        Profile(
            "restricted",
            "only what reading the target needs: SYS_PTRACE, SYS_CHROOT, DAC_READ_SEARCH, "
            "SETUID, SETGID (no signals to, or writes to files of, another uid; no network "
            "changes)",
            cap_add=("SYS_PTRACE", "SYS_CHROOT", "DAC_READ_SEARCH", "SETUID", "SETGID"),
            drop_all=True,
        ),
    )
}


def profile(name: str | None) -> Profile:
    """The profile of that name (the default for None).

    Raises:
        ProfileError: For a name that is not a profile.
    """
    found = PROFILES.get(name or DEFAULT_PROFILE)
    if found is None:
        raise ProfileError(f"unknown profile {name!r}", hint=f"one of: {', '.join(PROFILES)}")
    return found
