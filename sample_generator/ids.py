"""Vectorised text ids: fixed-width numbered ids and 18-digit resident IDs (GB 11643)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"
ID_FORMATS = {
    "hospital": ("H4101", 5),
    "expert": ("E4101", 6),
    "case": ("MT", 9),
    "task": ("RW", 10),
    "record": ("BL", 10),
}


def fixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """prefix + zero-padded number, e.g. fixed_ids("H4101", [1], 5) -> "H410100001"."""
    text = pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(text, width=width, padding="0"), "")


def check_index(number17: np.ndarray) -> np.ndarray:
    """Index into CHECK_CHARS of the ISO 7064 MOD 11-2 check character of 17-digit bodies."""
    number17 = np.asarray(number17, dtype=np.int64)
    total = np.zeros(len(number17), dtype=np.int64)
    for i, weight in enumerate(ID_WEIGHTS):
        total += (number17 // 10 ** (16 - i)) % 10 * weight
    return total % 11


def resident_ids(number17: np.ndarray) -> pa.Array:
    """18-character resident IDs from the 17-digit body (area, birth date, sequence)."""
    body = pa.array(np.asarray(number17, dtype=np.int64)).cast(pa.string())
    check = pa.array(list(CHECK_CHARS)).take(pa.array(check_index(number17)))
    return pc.binary_join_element_wise(body, check, "")


def resident_id_valid(text: str) -> bool:
    """True if an 18-character resident ID has the right check character."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    return CHECK_CHARS[int(check_index(np.array([int(text[:17])]))[0])] == text[17].upper()


def make_ids(kind: str, index: np.ndarray) -> pa.Array:
    """The ids of 0-based row positions, e.g. make_ids("hospital", [0]) -> ["H410100001"]."""
    prefix, width = ID_FORMATS[kind]
    return fixed_ids(prefix, np.asarray(index, dtype=np.int64) + 1, width)


def id_list(kind: str, index: np.ndarray) -> list[str]:
    """Sorted ids of a few row positions, for the expected-breaches report."""
    prefix, width = ID_FORMATS[kind]
    return sorted(f"{prefix}{int(i) + 1:0{width}d}" for i in np.unique(index))
