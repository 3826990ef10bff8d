"""A fixed-size Bloom filter of DIDs: constant memory however many accounts the feed stores."""

from __future__ import annotations


class Bloom:
    """Set membership with false positives and no false negatives (3 probes, double hashing).

    Python's string hash is salted per process, which is fine: the filter is rebuilt from the
    database at every start and never leaves the process.
    """

    def __init__(self, bits: int = 24) -> None:
        self.size = 1 << bits
        self.mask = self.size - 1
        self.bits = bytearray(self.size >> 3)
        self.count = 0

    def _probes(self, key: str) -> tuple[int, int, int]:
        h = hash(key)
        step = ((h >> 32) | 1) & self.mask
        first = h & self.mask
        return first, (first + step) & self.mask, (first + 2 * step) & self.mask

    def add(self, key: str) -> None:
        """Insert ``key``."""
        for probe in self._probes(key):
            self.bits[probe >> 3] |= 1 << (probe & 7)
        self.count += 1

    def __contains__(self, key: str) -> bool:
        a, b, c = self._probes(key)
        bits = self.bits
        return bool(bits[a >> 3] & (1 << (a & 7)) and bits[b >> 3] & (1 << (b & 7)) and bits[c >> 3] & (1 << (c & 7)))
