"""Writing a command's output file (``plan --out``, ``import --output``) safely.

``write_whole(path, text)`` writes ``text`` whole or not at all:

- a regular file, or a new one: written to a temporary file beside it, fsynced, then
  renamed over it — a crash or a full disk never leaves half a plan for apply to find;
  the file it replaces keeps its permissions;
- a symbolic link is followed: its target is replaced, the link kept (a plan path that
  links into a shared directory stays a link);
- anything else that exists — a device (``/dev/stdout``, ``/dev/null``), a FIFO — is
  written in place: renaming over it would replace the device node itself (as root,
  ``--out /dev/full`` used to turn ``/dev/full`` into a plan file);
- ``replace=False`` refuses an existing path (``FileExistsError``) atomically: a file
  that appears while the text is written is not replaced either.

Errors are ``OSError``; ``cannot_write`` words one as the command's error
(``cannot save the plan to ...: reason``), the same for every output file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from reconciler.errors import UsageError


def write_whole(path: Path, text: str, *, replace: bool = True) -> None:
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None:
        if stat.S_ISDIR(existing.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not replace:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
        if not stat.S_ISREG(existing.st_mode):
            with open(target, "w", encoding="utf-8") as device:
                device.write(text)
            return
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if existing is not None:
            os.chmod(temporary, stat.S_IMODE(existing.st_mode))
        if replace:
            os.replace(temporary, target)
        else:
            _link_new(temporary, target)
    finally:
        _remove(temporary)


def cannot_write(what: str, exc: OSError) -> UsageError:
    """The error of a command that could not ``what`` (e.g. "save the plan to PATH"):
    the system's reason, and the usual fix."""
    return UsageError(
        f"cannot {what}: {exc.strerror or exc}",
        hint="check that the directory exists and is writable",
    )


def _link_new(temporary: Path, target: Path) -> None:
    """Put ``temporary`` at ``target`` unless ``target`` exists (``FileExistsError``)."""
    try:
        os.link(temporary, target)  # atomic, and fails if the file exists
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links: exclusive creation instead
        with open(target, "x", encoding="utf-8") as out:
            out.write(Path(temporary).read_text(encoding="utf-8"))


def _remove(temporary: Path) -> None:
    """Remove what is left of the temporary file; never raise over the real error (its
    directory may not even exist: that is often the error being reported)."""
    try:
        os.unlink(temporary)
    except OSError:
        pass
