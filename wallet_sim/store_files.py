"""Files of the wallet directory: JSON replaced atomically (0600, fsynced with its directory, so
a counted PIN attempt stays counted through a crash) and the directory's lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vc.private_files import write_private_file

__all__ = ["exclusive_lock", "write_json"]


def write_json(path: Path, value: Any) -> None:
    """Replace `path` atomically with `value` as JSON, 0600."""
    write_private_file(path, json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8"))


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created 0600) until the block ends; other processes
    wait. The holder may delete the file (a wallet reset), so a lock taken on a deleted file is
    dropped and taken again on the current one."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                break
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock
