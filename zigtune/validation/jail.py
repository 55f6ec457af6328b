"""The jail: one process in its own user, mount, PID and network namespaces, seeing only what it is given.

Built from util-linux alone (``unshare``, ``mount``, ``prlimit``, ``setpriv``), so it needs no root and
no package beyond what every Linux has. :func:`jail_argv` is the one place that sets it up; the
engine's compile and run phases (and any batch strategy) call it with their own :class:`Jail`.

How a jail is made (all in a shell script run by ``unshare --user --map-root-user --mount --pid
--net --fork``, so the script is "root" only inside namespaces this user owns):

1. A small tmpfs is mounted over an empty directory (``Jail.mountpoint``); it becomes the new root.
2. Into it go the bind mounts (``Jail.binds``: read-only unless ``writable``), size-limited tmpfs
   scratch directories (``Jail.scratch``), copies of host files (``Jail.copies``), ``/dev/null``,
   ``/dev/zero``, ``/dev/random``, ``/dev/urandom`` and a fresh ``/proc`` of the new PID namespace.
   The root is then made read-only. Nothing else of the host (``/etc``, ``/home``, ``/root``, ``/usr``,
   the data directory, the repository) exists inside.
3. ``exec env -i ... prlimit ... setpriv --no-new-privs unshare --user --map-user=1000 --root=...``: the
   limits are set, and a second, nested user namespace is entered in which the process is uid 1000,
   chrooted into the new root. Being uid 1000 there, it loses every capability at ``exec``: it cannot
   mount, unmount or chroot, and the kernel refuses new user namespaces to chrooted processes.
   Every step is an ``exec`` of the same process, so PID 1 of the namespace *is* the jailed program:
   no process with the host's root lingers in the jail's ``/proc``.

How the jail reports on itself: through :attr:`Jail.status_file`, a host file outside the jail's root that
the setup script opens, writes and closes before its final ``exec`` — ``ready`` when the jail is built, the
reason when it is not. The jailed program cannot reach that file (it is in no mount of the jail, and no
descriptor to it stays open), so nothing it prints or any exit status it chooses can pass for the engine's
own failure: :func:`jail_outcome` reads the file, never the program's output.

When the engine runs as root, :attr:`Jail.run_as` names an unprivileged uid to switch to first,
because the kernel never applies ``RLIMIT_NPROC`` to uid 0. For anyone else the process limit holds
per jail: the kernel counts processes per (user namespace, uid), and each jail has its own.

No dagster here.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Printed (with the reason) by the jail's setup when it cannot build the jail; exit status ``SETUP_FAILED``.
#: Only for people reading stderr: the engine decides from the status file (``jail_outcome``).
JAIL_MARKER = "zigtune-sandbox:"
SETUP_FAILED = 125
#: What the setup writes to the status file just before it hands the process to the jailed program.
READY = "ready"

#: Who the jailed process is inside its namespace (any uid but 0: uid 0 would keep its capabilities).
JAIL_UID = 1000

#: The tools the jail is built with, all from util-linux and coreutils.
TOOLS = ("unshare", "mount", "prlimit", "setpriv", "env", "sh", "mkdir", "cp")

#: The PATH the setup script runs with (the jailed program gets ``Jail.env`` only).
SETUP_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

DEVICES = ("null", "zero", "random", "urandom")

# Sysctls that switch unprivileged user namespaces off: (file, value that means "off", the setting).
_USERNS_SWITCHES = (
    ("/proc/sys/kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone=1"),
    ("/proc/sys/user/max_user_namespaces", "0", "user.max_user_namespaces=15000"),
    ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1", "kernel.apparmor_restrict_unprivileged_userns=0"),
)


class JailError(RuntimeError):
    """This machine cannot build the jail (a tool is missing, user namespaces are off)."""


@dataclass(frozen=True)
class Bind:
    """A host directory or file shown inside the jail at ``target``."""

    source: Path
    target: str
    writable: bool = False


@dataclass(frozen=True)
class Jail:
    """What one jailed process sees, and as whom it runs."""

    mountpoint: Path  # an empty host directory; the jail's root is mounted over it, in its own namespace
    workdir: str  # the working directory inside the jail
    binds: tuple[Bind, ...] = ()
    scratch: tuple[tuple[str, int], ...] = ()  # (path inside, size in bytes): empty tmpfs directories
    copies: tuple[tuple[Path, str], ...] = ()  # (host file, path inside): copied in before the jail closes
    env: Mapping[str, str] = field(default_factory=dict)  # the jailed program's whole environment
    run_as: int | None = None  # root only: the unprivileged uid to become before anything else
    status_file: Path | None = None  # host file outside the jail: READY before the exec, or why the setup failed


def tool_paths() -> dict[str, str]:
    """Absolute paths of the tools, or :class:`JailError` naming the missing ones."""
    found = {tool: shutil.which(tool, path=SETUP_PATH) for tool in TOOLS}
    missing = sorted(tool for tool, path in found.items() if path is None)
    if missing:
        raise JailError(f"the local Zig sandbox needs util-linux and coreutils: {', '.join(missing)} not found")
    return {tool: path for tool, path in found.items() if path is not None}


def _quote(value: str | Path) -> str:
    return shlex.quote(str(value))


def _setup_script(jail: Jail, command: Sequence[str], rlimits: Sequence[str], tools: Mapping[str, str]) -> str:
    root = _quote(jail.mountpoint)
    status = _quote(jail.status_file) if jail.status_file is not None else "/dev/null"
    lines = [
        f"S={status}",
        f'fail() {{ echo "{JAIL_MARKER} $*" >&2; echo "$*" > "$S"; exit {SETUP_FAILED}; }}',
        f"R={root}",
        'mount -t tmpfs -o size=1m,mode=0755,nosuid,nodev zigtune-jail "$R" || fail "cannot mount a tmpfs on $R"',
        'mkdir -p "$R/dev" "$R/proc" || fail "cannot populate the jail root"',
    ]
    for bind in jail.binds:
        target = '"$R"' + _quote(bind.target)
        mode = "rw" if bind.writable else "ro"
        make = f"mkdir -p {target}" if bind.source.is_dir() else f": > {target}"
        lines += [
            f"{make} || fail 'cannot create {bind.target}'",
            f"mount --bind {_quote(bind.source)} {target} || fail 'cannot bind {bind.target}'",
            f"mount -o remount,bind,{mode},nosuid,nodev {target} || fail 'cannot remount {bind.target} {mode}'",
        ]
    for path, size in jail.scratch:
        target = '"$R"' + _quote(path)
        lines += [
            f"mkdir -p {target} || fail 'cannot create {path}'",
            f"mount -t tmpfs -o size={size},mode=1777,nosuid,nodev tmpfs {target} || fail 'cannot mount {path}'",
        ]
    for source, target in jail.copies:
        lines.append(f"cp -- {_quote(source)} \"$R\"{_quote(target)} || fail 'cannot copy {target} in'")
    for device in DEVICES:
        lines.append(
            f': > "$R/dev/{device}" && mount --bind /dev/{device} "$R/dev/{device}" || fail "no /dev/{device}"'
        )
    lines += [
        'mount -t proc -o nosuid,nodev,noexec proc "$R/proc" '
        '|| fail "cannot mount a /proc for the jail (a container that masks /proc? use ZIGTUNE_ZIG_ENGINE=codapi)"',
        'mount -o remount,bind,ro,nosuid,nodev "$R" || fail "cannot make the jail root read-only"',
    ]
    environment = [f"{key}={value}" for key, value in jail.env.items()]
    final = [
        tools["env"],
        "-i",
        *environment,
        tools["prlimit"],
        *rlimits,
        "--",
        tools["setpriv"],
        "--no-new-privs",
        "--",
        tools["unshare"],
        "--user",
        f"--map-user={JAIL_UID}",
        f"--map-group={JAIL_UID}",
        f"--root={jail.mountpoint}",
        f"--wd={jail.workdir}",
        "--",
        *command,
    ]
    # The redirection opens, writes and closes the file: no descriptor to it reaches the jailed program.
    lines.append(f'echo {READY} > "$S" || fail "cannot write the status file"')
    lines.append("exec " + " ".join(_quote(part) for part in final))
    return "\n".join(lines) + "\n"


def jail_argv(
    jail: Jail, command: Sequence[str], rlimits: Sequence[str], tools: Mapping[str, str] | None = None
) -> list[str]:
    """The argv that runs ``command`` (paths as seen inside the jail) in ``jail`` under ``rlimits``.

    ``rlimits`` are ``prlimit`` options (``--cpu=10``, ``--as=...``). Run the argv with a clean
    environment holding ``PATH=SETUP_PATH`` and in its own process group; killing the group kills
    the jail (``--kill-child``, and the PID namespace ends with its first process).
    """
    tools = tools or tool_paths()
    script = _setup_script(jail, command, rlimits, tools)
    enter = [tools["unshare"], "--user", "--map-root-user", "--mount", "--pid", "--net", "--kill-child"]
    argv = [*enter, "--", tools["sh"], "-c", script, "zigtune-jail"]
    if jail.run_as is not None:
        uid = str(jail.run_as)
        argv = [tools["setpriv"], f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *argv]
    return argv


def jail_outcome(status_file: Path, stderr: str) -> str | None:
    """The jail's own failure as one line, read from its status file; ``None`` when the jailed program started.

    ``stderr`` is consulted only when the program never started (then all of it is the setup's or
    ``unshare``'s own): whatever a started program prints, or however it exits, it is the program's.
    """
    try:
        said = status_file.read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        said = ""
    if said == READY:
        return None
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if said:
        detail = next((line for line in lines if not line.startswith(JAIL_MARKER)), "")
        return f"{JAIL_MARKER} {said}" + (f" ({detail[:200]})" if detail else "")
    if lines and lines[0].startswith("unshare: "):
        return namespaces_unavailable(lines[0])
    return f"{JAIL_MARKER} the jail's setup did not finish" + (f" ({lines[0][:200]})" if lines else "")


def setup_failure(exit_code: int, stderr: str) -> str | None:
    """The jail's own failure read from the text it printed, for a process whose status file is not at hand.

    A jailed program can print these words itself: the engine decides with :func:`jail_outcome`; this is
    only for output that the code under check does not write (the compiler's, a version probe's).
    """
    if exit_code == SETUP_FAILED:
        # The tool that failed (mount, cp) may have said why first; the marker line says what.
        marked = [line for line in stderr.splitlines() if line.startswith(JAIL_MARKER)]
        if marked:
            said = next((line.strip() for line in stderr.splitlines() if line and not line.startswith(JAIL_MARKER)), "")
            return marked[-1] + (f" ({said[:200]})" if said else "")
    if exit_code != 0 and stderr.startswith("unshare: "):
        return namespaces_unavailable(stderr.splitlines()[0])
    return None


def namespaces_unavailable(error: str) -> str:
    """One line: why ``unshare`` could not make the namespaces, and the setting that changes it."""
    for path, off, setting in _USERNS_SWITCHES:
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        if value == off:
            return (
                f"the local Zig sandbox needs unprivileged user namespaces, which this machine switches off "
                f"({path} is {value}): run `sysctl -w {setting}` as root, or use ZIGTUNE_ZIG_ENGINE=codapi"
            )
    return (
        f"the local Zig sandbox cannot create its namespaces ({error.strip()}): allow unprivileged user "
        f"namespaces (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, "
        f"kernel.apparmor_restrict_unprivileged_userns), or use ZIGTUNE_ZIG_ENGINE=codapi"
    )
