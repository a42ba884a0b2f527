"""atio's exceptions: one base class, `atio.Error`, and subclasses that are also the matching
built-in exceptions, so ``except PermissionError`` or ``except FileExistsError`` keep working.

Every error carries ``kind`` (stable, the CLI's exit-code kinds: ``"permission-denied"``,
``"no-space"``, ``"conflict"``, ...), ``step`` (``"stage"``, ``"fsync"``, ``"rename"``, ...),
``path`` and ``hint`` (one line saying what to try next). ``str(error)`` is
``step `path`: message`` followed by the hint.
"""

from __future__ import annotations

import errno as _errno
import os
from typing import Optional

__all__ = [
    "Error",
    "PermissionDenied",
    "NotFound",
    "NoSpace",
    "ReadOnly",
    "Conflict",
    "Exists",
    "LockTimeout",
    "UnsupportedFormat",
    "InvalidInput",
    "PluginError",
    "NetworkError",
    "VerificationError",
    "Interrupted",
    "IoError",
]


class Error(Exception):
    """Base class of every error atio raises."""

    #: Default OS error number for the OSError subclasses, when the cause carries none.
    default_errno: Optional[int] = None

    def __init__(
        self,
        message: str,
        *,
        kind: str = "io",
        step: str = "",
        path: str = "",
        hint: str = "",
        errno: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.step = step
        self.path = path
        self.hint = hint
        if isinstance(self, OSError):
            code = errno if errno is not None else self.default_errno
            # OSError's own fields, as os functions fill them: errno, strerror, filename.
            fields = {
                "errno": code,
                "strerror": os.strerror(code) if code is not None else message,
                "filename": path or None,
            }
            for name, value in fields.items():
                setattr(self, name, value)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message

    def __reduce__(self):  # picklable (multiprocessing sends exceptions between processes)
        return (
            _rebuild,
            (type(self), self.message, self.kind, self.step, self.path, self.hint,
             getattr(self, "errno", None)),
        )


def _rebuild(cls, message, kind, step, path, hint, errno):
    return cls(message, kind=kind, step=step, path=path, hint=hint, errno=errno)


class PermissionDenied(Error, PermissionError):
    """The OS refused access (EACCES, EPERM): check write permission on the target's directory."""

    default_errno = _errno.EACCES


class NotFound(Error, FileNotFoundError):
    """A path that must exist does not."""

    default_errno = _errno.ENOENT


class NoSpace(Error, OSError):
    """The filesystem is full or a quota is exhausted (``errno`` is ENOSPC or EDQUOT)."""

    default_errno = _errno.ENOSPC


class ReadOnly(Error, OSError):
    """The filesystem is mounted read-only (EROFS)."""

    default_errno = _errno.EROFS


class Conflict(Error):
    """The target changed under us (``if_match``), or is in the way."""


class Exists(Conflict, FileExistsError):
    """``no_clobber=True`` and the target exists."""

    default_errno = _errno.EEXIST


class LockTimeout(Conflict, TimeoutError):
    """The target's lock was still held when the timeout ran out; the message names the holder."""

    default_errno = _errno.ETIMEDOUT


class UnsupportedFormat(Error, ValueError):
    """The format is unknown, or cannot hold this data exactly (the message names the column)."""


class InvalidInput(Error, ValueError):
    """The input data or an option is invalid."""


class PluginError(Error):
    """An encoder plugin failed, trapped, timed out or was refused."""


class NetworkError(Error, ConnectionError):
    """An object store could not be reached or refused the request."""


class VerificationError(Error):
    """A file does not match its ``_SUCCESS`` manifest, or has none."""


class Interrupted(Error, InterruptedError):
    """The write was interrupted (a signal); the previous content is intact."""

    default_errno = _errno.EINTR


class IoError(Error, OSError):
    """Any other OS error; ``errno`` says which."""


_BY_KIND = {
    "permission-denied": PermissionDenied,
    "not-found": NotFound,
    "no-space": NoSpace,
    "read-only": ReadOnly,
    "conflict": Conflict,
    "unsupported-format": UnsupportedFormat,
    "invalid-input": InvalidInput,
    "plugin": PluginError,
    "network": NetworkError,
    "verification": VerificationError,
    "interrupted": Interrupted,
    "io": IoError,
}


def _class_for(kind: str, step: str, message: str, errno: Optional[int]) -> type:
    if kind == "conflict":
        if step == "lock":
            return LockTimeout
        if errno == _errno.EEXIST or "create-only" in message:
            return Exists
    return _BY_KIND.get(kind, IoError)


def _from_native(
    kind: str, step: str, path: str, message: str, hint: str, errno: Optional[int]
) -> Error:
    """Called by the extension to turn an ``atio::Error`` into an exception instance."""
    cls = _class_for(kind, step, message, errno)
    return cls(message, kind=kind, step=step, path=path, hint=hint, errno=errno)


# Shown (and pickled) as `atio.Exists`, not `atio._errors.Exists`: the package exports them all.
for _cls in (Error, *_BY_KIND.values(), Exists, LockTimeout):
    _cls.__module__ = "atio"
del _cls
