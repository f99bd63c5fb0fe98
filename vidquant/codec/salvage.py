"""Salvage: reading on past a damaged record of a ``.vq`` file.

A salvaging iteration (``ContainerReader.iter_records(salvage=True)``) hands each record it
cannot read or use to a :class:`Salvager`, which reports it as a :class:`Damage` and finds the
next intact record by scanning for record tags whose whole record (limits, CRC) checks out. The
scan and the reads it causes are charged to a budget. The salvager imports no reader: it reads
records through the callable the reader gives it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from vidquant.codec import format as fmt
from vidquant.errors import FormatError, detached

# Salvage scans for these tags to find the next intact record after damage.
_RESYNC_TAGS = re.compile(
    b"|".join(
        re.escape(t)
        for t in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME, fmt.TAG_AUDIO_PACKET, fmt.TAG_INDEX)
    )
)
# A salvaging iteration reads at most this many times the file's size (plus a floor) in all,
# so that a file built to be full of false record tags makes it give up, not take hours.
_SALVAGE_READ_FACTOR = 16
_SALVAGE_READ_MIN = 64 << 20


@dataclass(frozen=True)
class Damage:
    """A damaged stretch met while salvaging (see
    :meth:`vidquant.codec.container.ContainerReader.iter_records`).

    Attributes
    ----------
    offset
        Where reading failed: the start of the record that could not be read or used.
    error
        Why.
    resume_offset
        The next intact record, where reading went on; None when nothing intact follows.
    """

    offset: int
    error: FormatError
    resume_offset: int | None


class _BudgetSpent(FormatError):
    """A salvaging iteration has read as much as it may."""


class Salvager:
    """Recovery from damaged records for one salvaging iteration of a reader.

    Parameters
    ----------
    fileobj
        The reader's seekable file object (the salvager seeks it while scanning).
    file_size
        Its size in bytes.
    read_record
        The reader's checked record read: reads the record at an offset, raising
        :class:`~vidquant.errors.FormatError` when it is damaged, and charging its payload to
        :meth:`spend`.
    budgeted
        Charge reads to a budget of ``16 × file_size + 64 MiB`` bytes (False: no limit, for a
        single :meth:`resync` outside an iteration).
    """

    def __init__(
        self,
        fileobj: BinaryIO,
        file_size: int,
        read_record: Callable[[int], object],
        *,
        budgeted: bool = True,
    ) -> None:
        self._f = fileobj
        self._file_size = file_size
        self._read_record = read_record
        # bytes the iteration may still read; None: no limit, or spent (the error ends it)
        self._budget: int | None = None
        if budgeted:
            self._budget = _SALVAGE_READ_FACTOR * file_size + _SALVAGE_READ_MIN

    def recover(self, offset: int, error: FormatError) -> list[Damage]:
        """Report the record at ``offset`` that failed with ``error``, and where reading resumes.

        Returns
        -------
        list of Damage
            One item, or two when the read budget ran out while looking for the next record
            (the second reports that). The last item's ``resume_offset`` is where reading goes
            on; None ends the iteration.
        """
        error = detached(error)
        try:
            resume = None if isinstance(error, _BudgetSpent) else self.resync(offset + 1)
        except _BudgetSpent as spent:
            return [Damage(offset, error, None), Damage(offset + 1, detached(spent), None)]
        return [Damage(offset, error, resume)]

    def resync(self, offset: int) -> int | None:
        """Offset of the first intact frame, audio or index record at or after ``offset``.

        Scans for the record tags and keeps the first candidate whose whole record (length
        limits, CRC) checks out; None when no intact record follows.

        Raises
        ------
        FormatError
            When the read budget is spent.
        """
        chunk = 64 << 10  # grows to 1 MiB: damage is usually followed closely by a record
        pos = offset
        while pos + fmt.RECORD_HEAD.size + fmt.RECORD_CRC.size <= self._file_size:
            self._f.seek(pos)
            self.spend(chunk)
            buf = self._f.read(chunk + 3)  # + 3: a tag across the chunk's end is still found
            for match in _RESYNC_TAGS.finditer(buf):
                candidate = pos + match.start()
                try:
                    self._read_record(candidate)
                except _BudgetSpent:
                    raise
                except FormatError:
                    continue
                return candidate
            pos += chunk
            chunk = min(2 * chunk, 1 << 20)
        return None

    def spend(self, nbytes: int) -> None:
        """Charge ``nbytes`` about to be read to the budget (no-op without one).

        Raises
        ------
        FormatError
            The budget is spent; at the file's current position.
        """
        if self._budget is None:
            return
        self._budget -= nbytes
        if self._budget < 0:
            self._budget = None  # the error below ends the iteration
            raise _BudgetSpent(
                "gave up: the rest of the file is damaged throughout (salvage read "
                f"{_SALVAGE_READ_FACTOR} times the file's size looking for intact records)",
                offset=self._f.tell(),
            )
