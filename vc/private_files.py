"""Files and directories only the service account may read: 0600 files in 0700 directories.

Everything a service keeps under its data directory (databases and their `-wal`/`-shm`, key files,
entry records, logs that name people) is created with an explicit owner-only mode, so the process
umask cannot widen it; an existing one that group or others can reach is refused with the command
that fixes it, since a key that was readable may already have been copied. Only the named path is
checked, never its parents (`/tmp` is world-readable, and that is its business).

Standard library only, so every party (issuer, verifier, wallet simulator) uses the same rule.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from vc.errors import Code, VCError

__all__ = [
    "UnsafePermissions",
    "ensure_private_dir",
    "ensure_private_file",
    "permission_problem",
    "refuse_if_open",
    "write_private_file",
]

_OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO


class UnsafePermissions(VCError):
    """A secret's file or directory is open to group or others; `detail` names the fix."""

    default_code = Code.unsafe_file_permissions


def permission_problem(path: Path) -> str | None:
    """What is wrong with `path` (open to group/others, not ours to own), or None when it is
    private or absent."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return f"{path} is a symbolic link; point the setting at the real path"
    mode = stat.S_IMODE(info.st_mode)
    if mode & _OPEN_TO_OTHERS:
        wanted = "700" if stat.S_ISDIR(info.st_mode) else "600"
        return (
            f"{path} is open to group or others (mode {mode:04o}); "
            f"run: chmod {'-R go-rwx' if wanted == '700' else wanted} {path}"
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return (
            f"{path} belongs to another user (uid {info.st_uid}); chown it to the service account"
        )
    return None


def refuse_if_open(path: Path) -> None:
    """`UnsafePermissions` when `permission_problem` finds one (an absent path is fine)."""
    problem = permission_problem(path)
    if problem is not None:
        raise UnsafePermissions(detail=problem)


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700, or check that the existing one is private."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)  # mkdir's mode is masked by the umask; this is exact
        return path
    if not path.is_dir():
        raise UnsafePermissions(detail=f"{path} is not a directory")
    refuse_if_open(path)
    return path


def ensure_private_file(path: Path) -> Path:
    """Create `path` empty as 0600 if it is missing, else check that it is private.

    SQLite creates its database with the default mode (0644 under the usual umask) and its `-wal`
    and `-shm` files with the database's own mode, so creating the database first keeps all three
    private.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        refuse_if_open(path)
        return path
    os.close(fd)
    return path


def write_private_file(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data`, 0600 (write a temporary file, fsync, rename, fsync
    the directory), so a crash or power loss leaves the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
