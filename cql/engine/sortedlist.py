"""A small sorted list of comparable items, split into blocks.

Why not one Python list with ``bisect.insort``: an insert or delete in a list of
a million entries moves megabytes of pointers, so a single-row update would cost
milliseconds. Blocks of at most ``2 * LOAD`` items keep every insert and delete
local (the design of the ``sortedcontainers`` package, reduced to what the
indexes need: add, discard, and ordered iteration from a bound).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from itertools import islice
from typing import Any, Iterable, Iterator, List

LOAD = 1000
_EXACT_BLOCKS = 32  # an estimated count still sums up to this many blocks


class SortedList:
    """Items kept in ascending order; duplicates allowed."""

    def __init__(self, items: Iterable[Any] = ()):
        data = sorted(items)
        self._blocks: List[List[Any]] = [data[i:i + LOAD] for i in range(0, len(data), LOAD)]
        self._maxes: List[Any] = [b[-1] for b in self._blocks]
        self._len = len(data)

    def __len__(self) -> int:
        return self._len

    def add(self, item: Any) -> None:
        if not self._blocks:
            self._blocks.append([item])
            self._maxes.append(item)
        else:
            i = bisect_left(self._maxes, item)
            if i == len(self._maxes):
                i -= 1
                self._blocks[i].append(item)
                self._maxes[i] = item
            else:
                insort(self._blocks[i], item)
            block = self._blocks[i]
            if len(block) > 2 * LOAD:
                half = block[LOAD:]
                del block[LOAD:]
                self._blocks.insert(i + 1, half)
                self._maxes[i] = block[-1]
                self._maxes.insert(i + 1, half[-1])
        self._len += 1

    def update(self, items: Iterable[Any]) -> None:
        """Add many items: each block takes its share at once (inserted one by
        one when small, else appended and re-sorted: two sorted runs, linear
        for timsort), without a Python call per item."""
        new = sorted(items)
        if not new:
            return
        if len(new) * 4 > self._len or not self._blocks:
            self.__init__(list(self) + new)  # type: ignore[misc]
            return
        maxes = self._maxes
        last = len(maxes) - 1
        # Block i takes the new items in (maxes[i-1], maxes[i]], the last block
        # the rest: found by bisecting ``new`` (sorted), not a call per item.
        shares: List[tuple] = []
        n = len(new)
        lo = 0
        i = bisect_left(maxes, new[0])
        while lo < n and i < last:
            hi = bisect_right(new, maxes[i], lo)
            if hi > lo:
                shares.append((i, lo, hi))
                lo = hi
            if lo < n:
                i = bisect_left(maxes, new[lo], i + 1)
        if lo < n:
            shares.append((last, lo, n))
        blocks = self._blocks
        for i, lo, hi in reversed(shares):  # from the end: splits do not move pending blocks
            block = blocks[i]
            share = new[lo:hi]
            if len(share) * 8 < len(block):  # a few: binary insertion beats a re-sort
                for item in share:
                    insort(block, item)
            else:
                block.extend(share)
                block.sort()
            if len(block) > 2 * LOAD:
                parts = [block[j:j + LOAD] for j in range(0, len(block), LOAD)]
                blocks[i:i + 1] = parts
                maxes[i:i + 1] = [p[-1] for p in parts]
            else:
                maxes[i] = block[-1]
        self._len += len(new)

    def discard(self, item: Any) -> bool:
        """Remove one occurrence of ``item``; False if it was not there."""
        i = bisect_left(self._maxes, item)
        if i == len(self._maxes):
            return False
        block = self._blocks[i]
        j = bisect_left(block, item)
        if j == len(block) or block[j] != item:
            return False
        del block[j]
        self._len -= 1
        if not block:
            del self._blocks[i]
            del self._maxes[i]
        elif j == len(block):
            self._maxes[i] = block[-1]
        return True

    def _locate(self, bound: Any, right: bool) -> tuple:
        """(block, offset) of the first item > bound (right) or >= bound (left)."""
        find = bisect_right if right else bisect_left
        i = find(self._maxes, bound)
        if i == len(self._blocks):
            return i, 0
        return i, find(self._blocks[i], bound)

    def count_between(self, lo: Any, lo_incl: bool, hi: Any, hi_incl: bool,
                      exact: bool = True) -> int:
        """How many items lie between the bounds (None: unbounded). Not ``exact``:
        blocks wholly inside the range count as the average block (an estimate
        for choosing an access path, without a pass over a thousand blocks)."""
        bi, bo = (0, 0) if lo is None else self._locate(lo, right=not lo_incl)
        ei, eo = (len(self._blocks), 0) if hi is None else self._locate(hi, right=hi_incl)
        if (bi, bo) >= (ei, eo):
            return 0
        if bi == ei:
            return eo - bo
        inner = ei - bi - 1
        if not exact and inner > _EXACT_BLOCKS:
            return len(self._blocks[bi]) - bo + eo + inner * self._len // len(self._blocks)
        return len(self._blocks[bi]) - bo + eo + sum(map(len, self._blocks[bi + 1:ei]))

    def irange(self, lo: Any = None, lo_incl: bool = True, hi: Any = None,
               hi_incl: bool = True, reverse: bool = False) -> Iterator[Any]:
        """Items between the bounds, ascending (or descending with ``reverse``)."""
        bi, bo = (0, 0) if lo is None else self._locate(lo, right=not lo_incl)
        ei, eo = (len(self._blocks), 0) if hi is None else self._locate(hi, right=hi_incl)
        blocks = self._blocks
        # islice over the block (not a slice copy): a walk that stops after a
        # few items must not copy a thousand.
        if not reverse:
            k, off = bi, bo
            while (k, off) < (ei, eo) and k < len(blocks):
                block = blocks[k]
                stop = eo if k == ei else len(block)
                yield from islice(block, off, stop)
                k, off = k + 1, 0
        else:
            k = ei if eo > 0 else ei - 1
            while k >= bi and k >= 0:
                if k >= len(blocks):
                    k -= 1
                    continue
                block = blocks[k]
                start = bo if k == bi else 0
                stop = eo if k == ei else len(block)
                if stop > start:
                    n = len(block)
                    yield from islice(reversed(block), n - stop, n - start)
                k -= 1

    def __iter__(self) -> Iterator[Any]:
        for block in self._blocks:
            yield from block
