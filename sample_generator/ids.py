"""Vectorised text ids: fixed-width numbered ids and 18-digit resident IDs (GB 11643)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)


def digits(numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as an (n, width) int64 matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(numbers, dtype=np.int64)[:, None] // powers) % 10


def _to_arrow(chars: np.ndarray) -> pa.Array:
    n, width = chars.shape
    raw = np.ascontiguousarray(chars.astype(np.uint8)).view(f"S{width}").reshape(n)
    return pa.array(raw, type=pa.binary()).cast(pa.string())


def fixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """prefix + zero-padded number, e.g. fixed_ids("H4101", [1], 5) -> "H410100001"."""
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    body = digits(numbers, width) + ord("0")
    chars = np.hstack([np.broadcast_to(head, (len(body), len(head))), body])
    return _to_arrow(chars)


def check_digits(first17: np.ndarray) -> np.ndarray:
    """The ISO 7064 MOD 11-2 check character (as a byte) of (n, 17) digit matrices."""
    return CHECK_CHARS[(first17 @ ID_WEIGHTS) % 11]


def resident_ids(number17: np.ndarray) -> pa.Array:
    """18-character resident IDs from the 17-digit body (area, birth date, sequence)."""
    body = digits(number17, 17)
    chars = np.hstack([body + ord("0"), check_digits(body)[:, None]])
    return _to_arrow(chars)


def resident_id_valid(text: str) -> bool:
    """True if an 18-character resident ID has the right check character."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    body = np.array([int(c) for c in text[:17]], dtype=np.int64)
    return chr(int(check_digits(body[None, :])[0])) == text[17].upper()


ID_FORMATS = {
    "hospital": ("H4101", 5),
    "expert": ("E4101", 6),
    "case": ("MT", 9),
    "task": ("RW", 10),
    "record": ("BL", 10),
}


def make_ids(kind: str, index: np.ndarray) -> pa.Array:
    """The ids of 0-based row positions, e.g. make_ids("hospital", [0]) -> ["H410100001"]."""
    prefix, width = ID_FORMATS[kind]
    return fixed_ids(prefix, np.asarray(index, dtype=np.int64) + 1, width)


def id_list(kind: str, index: np.ndarray) -> list[str]:
    """Sorted ids of a few row positions, for the expected-breaches report."""
    prefix, width = ID_FORMATS[kind]
    return sorted(f"{prefix}{int(i) + 1:0{width}d}" for i in np.unique(index))
