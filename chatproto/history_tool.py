"""`chatproto-history`: looking after a history file while no server uses it.

    chatproto-history trim --keep N FILE

`trim` keeps the newest N messages, and every line after the oldest of them, exactly as
they are, so ids continue where they were. It takes the file's lock first (a running
server holds it, so trimming a file in use is refused), writes a temporary file beside
it with the same mode and owner, fsyncs it, renames it over the original and fsyncs the
directory: a crash at any moment leaves either the old file or the new one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Sequence

from chatproto.history import end_of_last_line, lock_exclusively, read_window
from chatproto.seams.history import HistoryUnavailable

#: Bytes copied at a time.
_CHUNK = 1 << 20


def trim(path: str, keep: int) -> str:
    """Keep the newest C{keep} (>= 1) messages of the history file at C{path}; say what
    was done. Raise L{HistoryUnavailable} when a server holds the file, OSError when it
    cannot be read or replaced."""
    path = os.path.realpath(path)  # replace the file a symlink names, not the symlink
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        lock_exclusively(fd, path)
        end = end_of_last_line(fd, os.fstat(fd).st_size)
        kept = read_window(fd, end, keep).records[-keep:]
        if not kept or kept[0][0] == 0:
            return f"{path}: {len(kept)} messages, nothing to trim"
        start = kept[0][0]
        _replace(fd, path, start, end)
    finally:
        os.close(fd)  # also releases the lock
    return (
        f"{path}: kept the newest {len(kept)} messages (ids {kept[0][1]}..{kept[-1][1]}),"
        f" removed {start} bytes before them"
    )


def _replace(fd: int, path: str, start: int, end: int) -> None:
    """Atomically replace C{path} by the bytes C{start}..C{end} of C{fd}, keeping the
    original's mode and owner."""
    original = os.fstat(fd)
    directory = os.path.dirname(path)
    # mkstemp creates the file with mode 0600: nobody else can read it meanwhile.
    temp_fd, temp_path = tempfile.mkstemp(prefix=os.path.basename(path) + ".", dir=directory)
    try:
        offset = start
        while offset < end:
            chunk = os.pread(fd, min(_CHUNK, end - offset), offset)
            if not chunk:  # the file shrank: nobody else may write it, so give up
                raise OSError(f"{path} changed while it was copied")
            offset += len(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(temp_fd, view) :]
        os.fchmod(temp_fd, stat.S_IMODE(original.st_mode))
        if (original.st_uid, original.st_gid) != (os.getuid(), os.getgid()):
            os.fchown(temp_fd, original.st_uid, original.st_gid)  # e.g. trimmed by root
        os.fsync(temp_fd)
        os.rename(temp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise
    finally:
        os.close(temp_fd)
    directory_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(directory_fd)  # makes the rename itself durable
    finally:
        os.close(directory_fd)


def _at_least_one(text: str) -> int:
    """argparse type of --keep: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be >= 1, got {value} (the newest message stays so that ids continue)"
        )
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatproto-history", description="Look after a chat history file."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    trimming = commands.add_parser(
        "trim",
        help="keep only the newest messages (while the server is stopped)",
        description="Keep the newest N messages of a history file, atomically; refused"
        " while a server uses the file.",
    )
    trimming.add_argument("--keep", type=_at_least_one, required=True, metavar="N")
    trimming.add_argument("file", metavar="FILE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status is 0 on success, 1 on failure, 2 on misuse."""
    arguments = _parser().parse_args(argv)
    try:
        print(trim(arguments.file, arguments.keep))
    except HistoryUnavailable as e:
        print(f"chatproto-history: not trimmed: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        reason = e.strerror or str(e)
        print(f"chatproto-history: cannot trim {arguments.file!r}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
