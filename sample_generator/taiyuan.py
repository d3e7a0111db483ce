"""`python -m sample_generator --city taiyuan`: a Taiyuan demo (并医险中心字〔2022〕108号).

Designated hospitals in Taiyuan's ten districts and counties, each with its in-hospital expert
panels; 定额 cases certified by a panel of two or three 副高 experts of the hospital, publicised
for 5 working days, entered within 3, benefits from the 1st of the next month; 非定额 cases
online (two pushed experts, ZZ timings); re-certification requests of refused cases. Every date
keeps each rule with room to spare, except the planted breaches: one per chosen case, each
breaking exactly one rule (TY-PANEL's member without the title also breaks ZZ-EXPERT-QUAL: that
doctor is in the expert file), counted in expected_breaches.json.

Choices the notice leaves open: the first 10 rows of the catalogue are the 非定额 diseases (the
notice names 恶性肿瘤门诊治疗, 器官移植抗排异治疗, 尿毒症透析 and "等 10 个病种").
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.catalogue import read_catalogue
from pipelines.config import load_profile
from pipelines.errors import CalendarGapError, UsageError
from pipelines.ingest_spec import SPECS
from pipelines.workcal import build_days
from sample_generator.badrows import spread
from sample_generator.core import DEFAULT_END, DEFAULT_START, check_args, split_end
from sample_generator.ids import CHECK_CHARS, check_index
from sample_generator.writer import write_table

DISTRICTS = {  # district → resident-ID area code
    "小店区": 140105,
    "迎泽区": 140106,
    "杏花岭区": 140107,
    "尖草坪区": 140108,
    "万柏林区": 140109,
    "晋源区": 140110,
    "清徐县": 140121,
    "阳曲县": 140122,
    "娄烦县": 140123,
    "古交市": 140181,
}
NON_QUOTA_ROWS = 10  # catalogue rows 1–10: 非定额 (online); the rest 定额 (hospital panels)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢"
GIVEN = "晋并汾晓丽建国华明芳伟静强磊军洋勇艳杰娟涛超秀英慧敏霞平刚桂兰玉"
TY_RULES = ("TY-CYCLE", "TY-PUBLICITY", "TY-ENTRY", "TY-BENEFIT", "TY-RECERT", "TY-PANEL")
# planted breaches per 1,000 cases, by kind (each kind breaks the rule named first)
PLANTS = {
    "TY-CYCLE": 4,
    "TY-PUBLICITY": 4,
    "TY-ENTRY": 4,
    "TY-BENEFIT": 4,
    "TY-RECERT": 3,
    "TY-PANEL/too_few": 2,
    "TY-PANEL/other_hospital": 2,
    "TY-PANEL/title": 2,
}
# a planted case is submitted at least this many working days before the last submission day,
# so that all its deadlines pass by the cut-off (the longest: a late re-certification, 40)
PLANT_MARGIN = 60
# one unusable row per defect in turn, per file (DATA-REJECT; --bad-rows)
BAD_KINDS: dict[str, dict[str, dict[str, Any]]] = {
    "hospitals": {
        "missing_key": {"hospital_id": None},
        "class_outside_list": {"hospital_class": "四类"},
    },
    "experts": {
        "missing_key": {"expert_id": None},
        "unknown_hospital": {"hospital_id": "H140999999"},
        "title_outside_list": {"title": "教授"},
        "unparseable_date": {"registered_on": "2025-02-30"},
    },
    "cases": {
        "missing_key": {"case_id": None},
        "unknown_hospital": {"hospital_id": "H140999999"},
        "disease_outside_list": {"disease_name": "感冒"},
        "category_outside_list": {"category": "其他"},
        "unparseable_time": {"submitted_at": "2025-13-01 08:00:00"},
    },
    "tasks": {
        "missing_key": {"task_id": None},
        "unknown_case": {"case_id": "TY99999999"},
        "unknown_expert": {"expert_id": "E1409999999"},
        "response_outside_list": {"response": "已读"},
        "unparseable_time": {"pushed_at": "2025-13-01 25:61:00"},
    },
    "panel_opinions": {
        "missing_key": {"case_id": None},
        "unknown_case": {"case_id": "TY99999999"},
        "unknown_expert": {"expert_id": "E1409999999"},
        "opinion_outside_list": {"opinion": "同意"},
        "unparseable_time": {"signed_at": "2025-13-01 25:61:00"},
    },
    "recerts": {
        "missing_key": {"recert_id": None},
        "result_without_completion": {"completed_at": None, "outcome": "符合"},
        "outcome_outside_list": {"outcome": "待定"},
        "unparseable_time": {"requested_at": "2025-13-01 25:61:00"},
    },
}


class Workdays:
    """The official working days (the project's calendar) as a numbered list; a day outside the
    years it covers is a CalendarGapError naming the year."""

    def __init__(self) -> None:
        calendar = build_days()
        self.first = calendar[0][0]
        self.days = [d for d, work in calendar if work]
        self.index = {d: i for i, d in enumerate(self.days)}

    def _gap(self, day: dt.date) -> CalendarGapError:
        return CalendarGapError(day.year if day < self.first else self.days[-1].year + 1)

    def at_or_after(self, day: dt.date) -> int:
        if not self.first <= day <= self.days[-1]:
            raise self._gap(day)
        while day not in self.index:
            day += dt.timedelta(1)
        return self.index[day]

    def after(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (day itself not counted; n = 0: itself if working)."""
        i = self.at_or_after(day) + n - (0 if day in self.index or n == 0 else 1)
        if i >= len(self.days):
            raise self._gap(self.days[-1])
        return self.days[i]


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def _first_of_next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


class Taiyuan:
    """The demo's world and its rows, built case by case from one seeded generator."""

    def __init__(
        self, cases: int, seed: int, breaches: bool, start: dt.date, end: dt.date | dt.datetime
    ) -> None:
        self.rng = random.Random(seed)
        self.wd = Workdays()
        self.start = start
        self.last_day, self.as_of = split_end(end)
        self.first, self.span = self._period(breaches)
        self.diseases = read_catalogue()
        self.rows: dict[str, list[dict[str, Any]]] = {n: [] for n in SPECS}
        self.expected: Counter[str] = Counter()
        self.n_cases = cases
        self.breaches = breaches
        self._hospitals()

    def _period(self, breaches: bool) -> tuple[int, int]:
        """The first submission's working-day number and the working days after it up to the last
        submission day. The calendar must hold every date the data reaches (an entry at most 20
        working days after its submission, a re-certification asked by the cut-off completed
        within 19) and every deadline the rules compute (TY-CYCLE's, TY-RECERT's)."""
        first = self.wd.at_or_after(self.start)
        ty = load_profile("taiyuan")["taiyuan_rules"]
        self.wd.after(self.last_day, max(20, ty["cycle_workdays"], ty["recert_workdays"]))
        span = self.wd.at_or_after(self.last_day + dt.timedelta(1)) - 1 - first
        if span < (PLANT_MARGIN if breaches else 0):
            raise UsageError(
                f"--start {self.start} 至 --end {self.last_day} 仅含 {span + 1} 个工作日："
                f"太原样例数据植入的违规须在数据截止前到期，申报期应至少含 {PLANT_MARGIN + 1} 个"
                "工作日（或加 --no-breaches）"
            )
        return first, span

    # ---- register -----------------------------------------------------------------------------

    def _name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, self.rng.randint(1, 2)))

    def _hospitals(self) -> None:
        specialties = sorted({d["specialty"] for d in self.diseases})
        self.experts: dict[tuple[str, str], list[str]] = {}
        for h, district in enumerate(sorted(DISTRICTS) * 2):
            hid = f"H1401{h + 1:05d}"
            cls = "三类" if h < 10 else "二类"
            name = f"太原市{district}{'人民' if h < 10 else '中心'}医院"
            self.rows["hospitals"].append(
                {"hospital_id": hid, "hospital_name": name, "hospital_class": cls,
                 "ownership": "公立", "district": district}
            )  # fmt: skip
            for spec in specialties:
                ids = [self._expert(hid, spec, self.rng.choice(["主任医师", "副主任医师"]))
                       for _ in range(3)]  # fmt: skip
                self.experts[(hid, spec)] = ids
        self.hospital_ids = [r["hospital_id"] for r in self.rows["hospitals"]]

    def _expert(self, hid: str, specialty: str, title: str) -> str:
        eid = f"E1401{len(self.rows['experts']) + 1:06d}"
        self.rows["experts"].append(
            {"expert_id": eid, "expert_name": self._name(), "hospital_id": hid,
             "specialty": specialty, "title": title, "registered_on": self.start - dt.timedelta(730)}
        )  # fmt: skip
        return eid

    # ---- cases --------------------------------------------------------------------------------

    def _person(self, i: int) -> tuple[str, str]:
        area = self.rng.choice(list(DISTRICTS.values()))
        born = dt.date(1940, 1, 1) + dt.timedelta(self.rng.randint(0, 365 * 60))
        body = int(f"{area}{born:%Y%m%d}{i % 1000:03d}")
        return f"{body}{CHECK_CHARS[int(check_index([body])[0])]}", self._name()

    def build(self) -> None:
        plants = self._plan_plants()
        for i in range(self.n_cases):
            # a planted case is submitted early enough for all its deadlines to pass by as_of
            last = self.span - PLANT_MARGIN if i in plants else self.span
            day = self.wd.days[self.first + self.rng.randint(0, last)]
            quota = self.diseases[NON_QUOTA_ROWS:]  # a planted breach is on a 定额 case
            disease = self.rng.choice(quota if i in plants else self.diseases)
            person_id, name = self._person(i)
            row = {
                "case_id": f"TY{i + 1:08d}", "person_id": person_id, "person_name": name,
                "insurance_type": self.rng.choice(["职工医保", "城乡居民医保"]),
                "disease_name": disease["disease_name"],
                "hospital_id": self.rng.choice(self.hospital_ids),
                "submitted_at": _at(day, self.rng.randint(8, 11), self.rng.randint(0, 59)),
                "record_id": f"BL{i + 1:08d}", "record_format": "HIS导出PDF",
                "record_size_mb": round(self.rng.uniform(0.5, 9.5), 1),
                "discharge_date": day - dt.timedelta(self.rng.randint(3, 60)),
            }  # fmt: skip
            if int(disease["row_no"]) <= NON_QUOTA_ROWS:
                self._online(row, disease)
            else:
                self._panel_case(row, disease["specialty"], plants.get(i))
            self.rows["cases"].append(row)

    def _plan_plants(self) -> dict[int, str]:
        """Which case carries which planted breach."""
        if not self.breaches:
            return {}
        kinds = [k for k, per in PLANTS.items() for _ in range(max(1, per * self.n_cases // 1000))]
        return dict(zip(self.rng.sample(range(self.n_cases), len(kinds)), kinds, strict=True))

    def _online(self, row: dict[str, Any], disease: dict[str, str]) -> None:
        """非定额: pushed to two experts of the specialty at other hospitals (ZZ timings)."""
        row["category"] = "非定额"
        sub: dt.datetime = row["submitted_at"]
        others = [h for h in self.hospital_ids if h != row["hospital_id"]]
        fine = self.rng.random() < 0.85
        for n, hid in enumerate(self.rng.sample(others, 2)):
            expert = self.rng.choice(self.experts[(hid, disease["specialty"])])
            pushed = sub + dt.timedelta(minutes=30)
            self.rows["tasks"].append(
                {"task_id": f"RW{row['case_id'][2:]}{n + 1}", "case_id": row["case_id"],
                 "expert_id": expert, "pushed_at": pushed,
                 "responded_at": pushed + dt.timedelta(hours=1), "response": "受理",
                 "completed_at": pushed + dt.timedelta(hours=3 + n),
                 "verdict": "符合" if fine else "不符合"}
            )  # fmt: skip
        decided = sub + dt.timedelta(hours=5)
        row.update(outcome="符合" if fine else "不符合", decided_at=decided)
        if fine:
            instant = disease["settlement"] == "即时办结"
            row["benefit_start"] = sub.date() if instant else _first_of_next_month(decided.date())

    def _panel_case(self, row: dict[str, Any], specialty: str, plant: str | None) -> None:
        """定额: a panel of the hospital decides; publicity, entry, benefit, maybe re-certification."""
        row["category"] = "定额"
        sub_day = row["submitted_at"].date()
        k = 17 if plant == "TY-CYCLE" else self.rng.randint(1, 8)
        decided_day = self.wd.after(sub_day, k)
        fine = self.rng.random() < 0.8 if plant is None else plant != "TY-RECERT"
        self._panel(row, specialty, decided_day, "符合" if fine else "不符合", plant)
        row.update(outcome="符合" if fine else "不符合", decided_at=_at(decided_day, 15))
        if not fine:
            self._recert(row, decided_day, plant == "TY-RECERT")
            return
        days = 4 if plant == "TY-PUBLICITY" else 5 + self.rng.randint(0, 2 if k < 8 else 0)
        pub_from = self.wd.after(decided_day, 1)
        pub_to = self.wd.after(pub_from, days - 1)
        # entry on working day k + days + gap after the submission: at most 20 (TY-CYCLE) but
        # for the planted ones (TY-CYCLE: 17 + 5 + 1 = 23; TY-ENTRY: gap 5 > 3)
        if plant == "TY-CYCLE":
            gap = 1
        elif plant == "TY-ENTRY":
            gap = 5
        else:
            gap = self.rng.randint(1, min(3, 20 - k - days))
        entered = _at(self.wd.after(pub_to, gap), 10)
        benefit = _first_of_next_month(entered.date())
        if plant == "TY-BENEFIT":
            benefit = _first_of_next_month(benefit)
        row.update(publicity_from=pub_from, publicity_to=pub_to, entered_at=entered,
                   benefit_start=benefit)  # fmt: skip
        if plant:
            self.expected[plant.split("/")[0]] += 1

    def _panel(
        self, row: dict[str, Any], specialty: str, day: dt.date, opinion: str, plant: str | None
    ) -> None:
        hid = row["hospital_id"]
        members = self.rng.sample(self.experts[(hid, specialty)], self.rng.choice([2, 2, 3]))
        if plant == "TY-PANEL/too_few":
            members = members[:1]
        elif plant == "TY-PANEL/other_hospital":
            other = self.rng.choice([h for h in self.hospital_ids if h != hid])
            members = [*members[:2], self.experts[(other, specialty)][0]]
        elif plant == "TY-PANEL/title":
            members = [*members[:2], self._expert(hid, specialty, "主治医师")]
            self.expected["ZZ-EXPERT-QUAL"] += 1
        for n, eid in enumerate(members):
            self.rows["panel_opinions"].append(
                {"case_id": row["case_id"], "expert_id": eid, "opinion": opinion,
                 "signed_at": _at(day, 9, 10 * n)}
            )  # fmt: skip

    def _recert(self, row: dict[str, Any], decided_day: dt.date, late: bool) -> None:
        if not late and self.rng.random() < 0.7:
            return
        asked = self.wd.after(decided_day, self.rng.randint(1, 10))
        if asked > self.last_day:  # asked after the cut-off: not in the export
            return
        took = 22 if late else self.rng.randint(3, 19)
        self.rows["recerts"].append(
            {"recert_id": f"CR{row['case_id'][2:]}", "case_id": row["case_id"],
             "requested_at": _at(asked, 9), "completed_at": _at(self.wd.after(asked, took), 16),
             "outcome": self.rng.choice(["符合", "不符合"])}
        )  # fmt: skip
        if late:
            self.expected["TY-RECERT"] += 1

    # ---- the cut-off --------------------------------------------------------------------------

    def censor(self) -> None:
        """What the export taken at as_of shows: later events not yet recorded (each is on or
        before its deadline, so a censored one is never a breach)."""
        as_of = self.as_of
        self.rows["cases"] = [c for c in self.rows["cases"] if c["submitted_at"] <= as_of]
        self._censor_tasks()
        for row in self.rows["cases"]:
            if row.get("decided_at") and row["decided_at"] > as_of:
                for k in ("outcome", "decided_at", "publicity_from", "publicity_to",
                          "entered_at", "benefit_start"):  # fmt: skip
                    row.pop(k, None)
            if row.get("entered_at") and row["entered_at"] > as_of:
                row.pop("entered_at")
                row.pop("benefit_start")
        for r in self.rows["recerts"]:
            if r["completed_at"] > as_of:
                r.update(completed_at=None, outcome=None)
        self.rows["panel_opinions"] = [
            o for o in self.rows["panel_opinions"] if o["signed_at"] <= as_of
        ]
        self.rows["recerts"] = [r for r in self.rows["recerts"] if r["requested_at"] <= as_of]

    def _censor_tasks(self) -> None:
        tasks = [t for t in self.rows["tasks"] if t["pushed_at"] <= self.as_of]
        for t in tasks:
            if t["responded_at"] > self.as_of:
                t.update(responded_at=None, response=None)
            if t["completed_at"] > self.as_of:
                t.update(completed_at=None, verdict=None)
        self.rows["tasks"] = tasks

    def bad_row(self, file: str, kind: str, j: int) -> dict[str, Any]:
        """The file's j-th row (in turn) with one defect."""
        rows = self.rows[file]
        return {**rows[j % len(rows)], **BAD_KINDS[file][kind]}


def generate_taiyuan(
    cases: int,
    seed: int,
    out: Path,
    fmt: str = "csv",
    start: dt.date = DEFAULT_START,
    end: dt.date | dt.datetime = DEFAULT_END,
    breaches: bool = True,
    bad_rows: int = 0,
) -> dict[str, Any]:
    """Write the six Taiyuan files and expected_breaches.json to `out`; return the report.
    `start`, `end` and `bad_rows` as for `generate` (the Zhengzhou data)."""
    check_args(cases, fmt, start, split_end(end)[0], bad_rows)
    world = Taiyuan(cases, seed, breaches, start, end)
    world.build()
    world.censor()
    tables = {
        name: pa.Table.from_pylist(
            [{c.name: r.get(c.name) for c in spec.columns} for r in world.rows[name]],
            schema=_schema(spec),
        )
        for name, spec in SPECS.items()
    }
    sizes = {name: t.num_rows for name, t in tables.items()}
    kinds = {f: list(k) for f, k in BAD_KINDS.items() if sizes[f]}
    bad = spread(bad_rows, fmt, sizes, kinds, world.bad_row)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_table(table, bad["rows"].get(name, []), out / f"{name}.{fmt}", fmt)
    report = {
        "as_of": f"{world.as_of:%Y-%m-%d %H:%M:%S}",
        "profile": "taiyuan",
        "generator": {"city": "taiyuan", "cases": cases, "seed": seed, "format": fmt,
                      "start": start.isoformat(), "end": f"{end}", "breaches": breaches,
                      "bad_rows": bad_rows},
        "rows": sizes,
        "violations": {rule: world.expected.get(rule, 0)
                       for rule in (*TY_RULES, "ZZ-EXPERT-QUAL")},
        "quarantine": bad["quarantine"],
        "quarantine_rows": bad["quarantine_rows"],
    }  # fmt: skip
    (out / "expected_breaches.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return report


_TYPES = {"date": pa.date32(), "time": pa.timestamp("s"), "number": pa.float64()}


def _schema(spec) -> pa.Schema:
    return pa.schema([(c.name, _TYPES.get(c.kind, pa.string())) for c in spec.columns])
