#!/usr/bin/env python3
"""Check a published random draw with nothing but Python's standard library.

Rules (shared/RULES.md "Verifiable draws"):
  key    = sha256((seed + "|" + id).encode("utf-8")).hexdigest()
  digest = sha256 of the ids sorted by code point, each followed by "\\n"
           (the same as `LC_ALL=C sort ids.txt | sha256sum`)
  draw   = per stratum, the candidates ordered by key ascending; the first k are drawn
           (k = --k, or ceil(rate × stratum size) with --rate, exactly; or, for a draw sized
           for a precision, with --expected-rate P --half-width D --confidence C --min-rate R:
           z = NormalDist().inv_cdf((1 + C) / 2), n0 = z²·P(1−P)/D², per stratum of size N
           k = min(N, max(ceil(R × N), ceil(n0 / (1 + (n0 − 1)/N))))).

Inputs:
  --population FILE  one id per line, or a CSV with a header (--id-column; a first column named
                     case_id, expert_id or id is found by itself); --strata-column names the
                     stratum column (hospital_id, taken by itself for a spot-check result)
  --result FILE      a published result CSV: spot-check (hospital_id, rank, case_id, key),
                     draw-experts / appeal-panel (rank, expert_id, hospital_id, key), or any CSV
                     with rank, key and an id column
  --digest HEX       the population digest published before the seed

Prints the population size and digest, then OK, or the first mismatch (exit status 1). Without
--result it prints the recomputed draw as CSV. Exit status 2: the inputs cannot be read.

Examples:
  python3 verify_draw.py --seed 48213907561239847702 --population 名单.csv \\
      --strata-column hospital_id --rate 10% --result 抽查名单.csv --digest 7964e6b9…
  python3 verify_draw.py --seed 00123 --population experts.txt --k 5
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import math
import re
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from statistics import NormalDist

ID_COLUMNS = ("case_id", "expert_id", "id")
SPOT_CHECK = ["hospital_id", "rank"]


class InputError(Exception):
    """The inputs cannot be read (exit status 2)."""


class Mismatch(Exception):
    """The published draw does not follow from the inputs (exit status 1)."""


def draw_key(seed: str, candidate_id: str) -> str:
    return hashlib.sha256((seed + "|" + candidate_id).encode("utf-8")).hexdigest()


def population_digest(ids: list[str]) -> str:
    h = hashlib.sha256()
    for i in sorted(ids):
        h.update(i.encode("utf-8") + b"\n")
    return h.hexdigest()


def parse_rate(text: str) -> Decimal:
    m = re.match(r"^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(%?)\s*$", text)
    try:
        rate = Decimal(m.group(1)) if m else None
    except InvalidOperation:
        rate = None
    if rate is None:
        raise InputError(f"rate {text!r} is not like 0.10 or 10%")
    rate = rate / 100 if m.group(2) else rate
    if not 0 < rate <= 1:
        raise InputError(f"rate {text!r} must be above 0 and at most 100%")
    return rate


def read_text(path: str) -> str:
    with open(path, "rb") as fh:
        raw = fh.read()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: neither UTF-8 nor GBK")


def read_csv(path: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) of a CSV file."""
    rows = list(csv.reader(io.StringIO(read_text(path))))
    if not rows:
        raise InputError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    body = []
    for n, r in enumerate(rows[1:], start=2):
        if any(c.strip() for c in r):
            body.append(
                (n, {h: (r[j].strip() if j < len(r) else "") for j, h in enumerate(header)})
            )
    return header, body


def read_population(path: str, id_col: str | None, strata_col: str | None) -> dict[str, str]:
    """{id: stratum} of the population file ('' as stratum when unstratified)."""
    text = read_text(path)
    first = next(csv.reader(io.StringIO(text)), [""])
    if id_col is None and first and first[0].strip() in ID_COLUMNS:
        id_col = first[0].strip()
    out: dict[str, str] = {}
    if id_col is None:
        if strata_col:
            raise InputError("--strata-column needs a population CSV with a header")
        entries = [(n, line.strip(), "") for n, line in enumerate(text.splitlines(), 1)]
    else:
        header, body = read_csv(path)
        for col in (id_col, strata_col):
            if col and col not in header:
                raise InputError(f"{path}: no column {col!r} (columns: {', '.join(header)})")
        entries = [(n, r[id_col], r[strata_col] if strata_col else "") for n, r in body]
    for n, i, s in entries:
        if not i:
            continue
        if i in out:
            raise InputError(f"{path} line {n}: id {i!r} appears twice")
        out[i] = s
    return out


def rank(seed: str, population: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """{stratum: [(key, id), ...] by key ascending}."""
    strata: dict[str, list[tuple[str, str]]] = {}
    for i, s in population.items():
        strata.setdefault(s, []).append((draw_key(seed, i), i))
    return {s: sorted(v) for s, v in sorted(strata.items())}


@dataclass(frozen=True)
class Precision:
    """A sample sized for a precision: expected rate, half-width, confidence, floor rate."""

    expected_rate: Decimal
    half_width: Decimal
    confidence: Decimal
    min_rate: Decimal

    def n(self, size: int) -> int:
        z = NormalDist().inv_cdf((1 + float(self.confidence)) / 2)
        p, d = float(self.expected_rate), float(self.half_width)
        n0 = z * z * p * (1 - p) / (d * d)
        n = math.ceil(n0 / (1 + (n0 - 1) / size))
        return min(size, max(math.ceil(Fraction(self.min_rate) * size), n))


def wanted(
    size: int, k: int | None, rate: Decimal | None, plan: Precision | None = None
) -> int | None:
    if k is not None:
        return k
    if rate is not None:
        return math.ceil(Fraction(rate) * size)
    if plan is not None:
        return plan.n(size)
    return None


def precision(args: argparse.Namespace) -> Precision | None:
    """The precision plan of the options, or None without --expected-rate."""
    if args.expected_rate is None:
        return None
    if args.half_width is None:
        raise InputError("--expected-rate needs --half-width (and --confidence, --min-rate)")
    values = [parse_rate(v) for v in (args.expected_rate, args.half_width, args.confidence)]
    if any(v >= 1 for v in values):
        raise InputError("--expected-rate, --half-width and --confidence must be below 1")
    return Precision(*values, parse_rate(args.min_rate))


def check_result(
    seed: str,
    path: str,
    population: dict[str, str] | None,
    id_col: str | None,
    strata_col: str | None,
    k: int | None,
    rate: Decimal | None,
    plan: Precision | None = None,
) -> list[str]:
    """Raise Mismatch at the first difference; return notes for the report."""
    header, body = read_csv(path)
    id_col = id_col or next((c for c in ID_COLUMNS if c in header), None)
    for col in (id_col, "rank", "key", strata_col):
        if col and col not in header:
            raise InputError(f"{path}: no column {col!r} (columns: {', '.join(header)})")
    if id_col is None:
        raise InputError(f"{path}: no id column (one of {', '.join(ID_COLUMNS)})")
    picked: dict[str, list[tuple[int, int, str, str]]] = {}
    for n, r in body:
        i, key = r[id_col], r["key"]
        if key != draw_key(seed, i):
            raise Mismatch(f"{path} line {n}: key of {i} is {key}, expected {draw_key(seed, i)}")
        try:
            rk = int(r["rank"])
        except ValueError:
            raise Mismatch(f"{path} line {n}: rank {r['rank']!r} is not a number") from None
        picked.setdefault(r[strata_col] if strata_col else "", []).append((rk, n, i, key))
    notes = []
    ranked = rank(seed, population) if population is not None else {}
    strata = sorted(set(picked) | set(ranked))
    for s in strata:
        rows = sorted(picked.get(s, []))
        label = f"stratum {s!r}" if s else "the draw"
        for pos, (rk, n, i, _) in enumerate(rows, start=1):
            if rk != pos:
                raise Mismatch(f"{path} line {n}: {i} has rank {rk} in {label}, expected {pos}")
        keys = [key for *_, key in rows]
        if keys != sorted(keys):
            raise Mismatch(f"{path}: keys of {label} are not in ascending order of rank")
        if population is None:
            continue
        order = ranked.get(s, [])
        want = wanted(len(order), k, rate, plan)
        if want is None:
            want = len(rows)
            notes.append(f"k of {label} taken from the result: {want}")
        expected = [i for _, i in order[:want]]
        got = [i for _, _, i, _ in rows]
        for pos in range(max(len(expected), len(got))):
            e = expected[pos] if pos < len(expected) else None
            g = got[pos] if pos < len(got) else None
            if e != g:
                if g is not None and g not in population:
                    raise Mismatch(f"{label}: {g} (rank {pos + 1}) is not in the population")
                if g is not None and population[g] != s:
                    raise Mismatch(f"{label}: {g} belongs to stratum {population[g]!r}")
                raise Mismatch(
                    f"{label}, rank {pos + 1}: result has {g or 'nothing'}, "
                    f"recomputation gives {e or 'nothing'}"
                )
    return notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Check a published random draw (verifiable draws).")
    ap.add_argument("--seed", required=True, help="the published seed, as text")
    ap.add_argument("--population", help="population file: one id per line, or a CSV")
    ap.add_argument("--id-column", help="id column of the CSV files")
    ap.add_argument("--strata-column", help="stratum column (e.g. hospital_id)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--k", type=int, help="number drawn per stratum")
    group.add_argument("--rate", help="per-stratum rate, ceil(rate × n): 0.10 or 10%%")
    group.add_argument("--expected-rate", help="sample sized for a precision: expected rate P")
    ap.add_argument("--half-width", help="with --expected-rate: the half-width D")
    ap.add_argument("--confidence", default="0.90", help="with --expected-rate: C (default 0.90)")
    ap.add_argument("--min-rate", default="0.10", help="with --expected-rate: floor rate R (0.10)")
    ap.add_argument("--result", help="the published result CSV to check")
    ap.add_argument("--digest", help="the population digest published before the seed")
    args = ap.parse_args(argv)
    out = sys.stdout
    try:
        seed = args.seed.strip()
        if not seed:
            raise InputError("the seed is empty")
        rate = parse_rate(args.rate) if args.rate else None
        plan = precision(args)
        if args.k is not None and args.k < 0:
            raise InputError("--k must not be negative")
        strata_col = args.strata_column
        if strata_col is None and args.result and read_csv(args.result)[0][:2] == SPOT_CHECK:
            strata_col = "hospital_id"
        population = None
        if args.population:
            population = read_population(args.population, args.id_column, strata_col)
            digest = population_digest(list(population))
            print(f"population: {len(population)} ids, digest {digest}", file=out)
            if args.digest and args.digest.strip().lower() != digest:
                raise Mismatch(f"population digest is {digest}, published {args.digest.strip()}")
        elif args.digest or not args.result:
            raise InputError("--population is needed (with --digest, or to recompute a draw)")
        if args.result:
            notes = check_result(
                seed, args.result, population, args.id_column, strata_col, args.k, rate, plan
            )
            for note in notes:
                print(f"note: {note}", file=out)
            if population is None:
                print("note: without --population only the keys and ranks were checked", file=out)
        else:
            w = csv.writer(out, lineterminator="\n")
            w.writerow(["stratum", "rank", "id", "key"])
            for s, order in rank(seed, population or {}).items():
                want = wanted(len(order), args.k, rate, plan)
                for pos, (key, i) in enumerate(order[:want], start=1):
                    w.writerow([s, pos, i, key])
    except InputError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    except (OSError, csv.Error) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    except Mismatch as exc:
        print(f"MISMATCH: {exc}", file=out)
        return 1
    print("OK", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
