"""The SQL that types a text value of an export: enum lists, dates and times in the formats
the platforms write (an Excel serial number, an offset from UTC), ids without invisible
characters, resident IDs, file sizes, disease names by the catalogue's aliases."""

from __future__ import annotations

from pipelines.ingest_spec import DATE_FORMATS, TIME_FORMATS, Col


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _typed_expr(c: Col, native: bool = False) -> str:
    """The SQL that types source column `c` (text); `native`: it is already of its kind's type."""
    x = c.name
    if native:
        return {"time": f"cast({x} as timestamp)", "date": f"cast({x} as date)"}.get(
            c.kind, f"cast({x} as double)"
        )
    if c.kind == "enum":
        whens = " ".join(f"when {_lit(k.lower())} then {_lit(v)}" for k, v in c.values.items())
        return f"case lower({x}) {whens} end"
    if c.kind == "date":
        return _with_offset(x, _date_sql(x), "date")
    if c.kind == "time":
        return _with_offset(x, _time_sql(x), "timestamp")
    if c.kind == "id":
        # all-ASCII (the usual id) is kept as it is: length in bytes = length in characters
        return (
            f"case when strlen({x}) = length({x}) then {x} "
            f"else nullif(trim(regexp_replace({x}, {_lit(INVISIBLE)}, '', 'g')), '') end"
        )
    if c.kind == "number":
        return f"try_cast(regexp_replace({x}, '(?i)\\s*mb$', '') as double)"
    if c.kind == "person_id":
        return f"case when regexp_full_match(upper({x}), '[0-9]{{17}}[0-9X]') then upper({x}) end"
    if c.kind == "disease":
        return "dmap.disease_name"
    return x


def _date_sql(x: str) -> str:
    fmts = "[" + ", ".join(_lit(f) for f in DATE_FORMATS) + "]"
    return (
        f"coalesce(try_cast({x} as date), cast(try_strptime({x}, {fmts}) as date), "
        f"case when regexp_full_match({x}, '[1-9][0-9]{{4}}(\\.0+)?') "
        f"then cast(date '1899-12-30' + cast(cast({x} as double) as integer) as date) end)"
    )


def _time_sql(x: str) -> str:
    fmts = "[" + ", ".join(_lit(f) for f in TIME_FORMATS) + "]"
    return (
        f"coalesce(try_cast({x} as timestamp), try_strptime({x}, {fmts}), "
        f"case when regexp_full_match({x}, '[1-9][0-9]{{4}}(\\.[0-9]+)?') "
        f"then timestamp '1899-12-30' + to_seconds(cast(round(cast({x} as double) * 86400) "
        f"as bigint)) end)"
    )


# A time that carries its offset from UTC (`…Z`, `+08:00`, `-0500`, `+08`) after hours:minutes.
OFFSET = r"\s*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"
OFFSET_RE = r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?" + OFFSET


def _with_offset(x: str, plain: str, target: str) -> str:
    """`plain` (the parse of wall time `x`) unless text `x` ends in an offset from UTC: then the
    wall time before the offset, moved to Beijing time (UTC+8 all year: CONTRACT). Only a value
    with a `Z`, a `+`, or a `-` after the date is matched against the pattern, so the usual
    value costs a few string tests."""
    maybe = (
        f"(ends_with({x}, 'Z') or ends_with({x}, 'z') or contains({x}, '+') "
        f"or contains(substr({x}, 11), '-'))"
    )
    off = f"replace(regexp_extract({x}, {_lit(OFFSET)}, 1), ':', '')"
    minutes = (
        f"case when upper({off}) = 'Z' then 0 else "
        f"(case when left({off}, 1) = '-' then -1 else 1 end) * (cast(substr({off}, 2, 2) as integer)"
        f" * 60 + coalesce(try_cast(nullif(substr({off}, 4, 2), '') as integer), 0)) end"
    )
    wall = _time_sql(f"regexp_replace({x}, {_lit(OFFSET)}, '')")
    return (
        f"case when {maybe} and regexp_matches({x}, {_lit(OFFSET_RE)}) "
        f"then cast({wall} + to_minutes(480 - ({minutes})) as {target}) else {plain} end"
    )


# Characters that show as nothing: soft hyphen, zero-width space / joiners, direction marks,
# word joiner, BOM. An id copied from a web page or a Word file may carry them.
INVISIBLE = (
    r"[\x{00AD}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}]"
)
