"""Draw keys, population digests, rates and quotas (shared/RULES.md "Verifiable draws").

Pure functions with no database: the reference the SQL ranking (`draw_rank.sql`), `verify-log` and
`tools/verify_draw.py` are checked against (and `invalid_ids`, `check_id` for a whole Arrow column).

Seed policy: the seed is a text string end to end. Surrounding whitespace (a trailing newline from
a file, a space typed in a form, the full-width space U+3000) is stripped; everything inside is kept
verbatim, so "00123" stays "00123". An empty seed, or one with a control character inside, is
refused. Ids must be non-empty, without line breaks and without surrounding whitespace, so the
published one-id-per-line list reproduces them exactly.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TYPE_CHECKING

from pipelines.errors import DataError, UsageError

if TYPE_CHECKING:
    import pyarrow as pa

_RATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(%?)\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What str.strip() removes (the characters of str.isspace()); check_id refuses them at either end.
STRIP_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True, order=True)
class Member:
    """One candidate of a population: its id, its stratum ('' when unstratified), its hospital."""

    id: str
    stratum: str = ""
    hospital_id: str | None = None


@dataclass(frozen=True)
class Pick:
    """One drawn candidate: rank is the 1-based position by key within its stratum."""

    id: str
    stratum: str
    rank: int
    key: str
    hospital_id: str | None = None


def normalize_seed(seed: str | None) -> str:
    """The seed as used: surrounding whitespace stripped, nothing else changed; empty refused."""
    if not isinstance(seed, str):
        raise UsageError("随机种子必须是文本（例如 20 位骰子数字），不能是数字类型")
    text = seed.strip()
    if not text:
        raise UsageError("随机种子不能为空")
    if _CONTROL.search(text):
        raise UsageError("随机种子中不能含换行符或其他控制字符")
    return text


def check_id(value: str) -> str:
    """An id usable in a published list: non-empty, no line break, no surrounding whitespace."""
    if not value or value != value.strip() or _CONTROL.search(value):
        raise DataError(f"编号 {value!r} 不能为空、含换行或首尾空白，无法公开复核")
    return value


# check_id as one RE2 pattern (DuckDB and Arrow both use RE2): whitespace at either end, or a
# control character anywhere; escapes only, so the pattern itself holds no raw control character.
_EDGE = "".join(f"\\x{{{ord(c):x}}}" for c in STRIP_CHARS)
ID_PROBLEM_RE2 = f"^[{_EDGE}]|[{_EDGE}]$|[\\x00-\\x1f\\x7f]"


def invalid_ids(ids: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """True where `check_id` refuses the id (NULL included), for a whole column at once."""
    import pyarrow.compute as pc

    bad = pc.or_kleene(pc.equal(ids, ""), pc.match_substring_regex(ids, ID_PROBLEM_RE2))
    return pc.fill_null(bad, True)


def draw_key(seed: str, candidate_id: str) -> str:
    """The draw key: lowercase hex SHA-256 of the UTF-8 of seed + "|" + id."""
    return hashlib.sha256(f"{seed}|{candidate_id}".encode()).hexdigest()


def population_digest(ids: Iterable[str]) -> str:
    """SHA-256 of the ids sorted by code point, each followed by "\\n" (= `LC_ALL=C sort | sha256sum`)."""
    h = hashlib.sha256()
    for i in sorted(ids):
        h.update(i.encode("utf-8") + b"\n")
    return h.hexdigest()


def parse_rate(text: str | Decimal) -> Decimal:
    """A rate written "0.1", "0.10" or "10%" as an exact Decimal in (0, 1]."""
    if isinstance(text, Decimal):
        rate = text
    else:
        m = _RATE.match(str(text))
        if not m:
            raise UsageError(f"抽查比例 {text!r} 无法识别，应写作 0.10 或 10%")
        try:
            rate = Decimal(m.group(1))
        except InvalidOperation as exc:
            raise UsageError(f"抽查比例 {text!r} 无法识别，应写作 0.10 或 10%") from exc
        if m.group(2):
            rate = rate / 100
    if not Decimal(0) < rate <= Decimal(1):
        raise UsageError(f"抽查比例 {text} 应大于 0 且不超过 100%")
    return rate


def quota(rate: Decimal, n: int) -> int:
    """ceil(rate × n), exactly (10% of 30 is 3, of 31 is 4)."""
    return math.ceil(Fraction(rate) * n)


def strata_sizes(members: Iterable[Member]) -> dict[str, int]:
    """Population size per stratum, strata in code-point order."""
    out: dict[str, int] = {}
    for m in members:
        out[m.stratum] = out.get(m.stratum, 0) + 1
    return dict(sorted(out.items()))


def rank_members(seed: str, members: Iterable[Member]) -> dict[str, list[Pick]]:
    """Every member ranked by key ascending within its stratum (ties, never seen, by id)."""
    by_stratum: dict[str, list[tuple[str, str, str | None]]] = {}
    for m in members:
        by_stratum.setdefault(m.stratum, []).append((draw_key(seed, m.id), m.id, m.hospital_id))
    out: dict[str, list[Pick]] = {}
    for stratum in sorted(by_stratum):
        rows = sorted(by_stratum[stratum])
        out[stratum] = [
            Pick(id=i, stratum=stratum, rank=r, key=k, hospital_id=h)
            for r, (k, i, h) in enumerate(rows, start=1)
        ]
    return out


def take(ranked: Mapping[str, Sequence[Pick]], k: Mapping[str, int]) -> list[Pick]:
    """The first k[stratum] of each stratum (all there are when fewer), by stratum then rank."""
    out: list[Pick] = []
    for stratum in sorted(ranked):
        out.extend(ranked[stratum][: max(0, k.get(stratum, 0))])
    return out
