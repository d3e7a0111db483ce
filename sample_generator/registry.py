"""Hospitals (定点医疗机构) and the expert register (鉴定专家库) of Zhengzhou."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from sample_generator.people import NamePool
from sample_generator.settings import Catalogue, Rules

NONE = -1
TITLES = ["主任医师", "副主任医师", "主治医师", "住院医师"]
OWNERSHIP = ["公立", "民营"]
NUMERALS = "一二三四五六七八九十"
PUBLIC_KINDS = {
    "一类": ["社区卫生服务中心", "卫生院", "中心卫生院"],
    "二类": ["人民医院", "中医院", "中西医结合医院", "第二人民医院", "第三人民医院", "康复医院"],
    "三类": [
        "人民医院",
        "中心医院",
        "中医院",
        "第一人民医院",
        "骨科医院",
        "心血管病医院",
        "肿瘤医院",
    ],
}
PLACES = [
    "城关",
    "东风",
    "建设",
    "花园",
    "文化",
    "丰产",
    "南阳路",
    "大学路",
    "淮河路",
    "长江路",
    "福华街",
    "人民路",
    "杜岭",
    "北林路",
    "未来路",
    "经八路",
    "丰庆路",
    "祭城",
    "龙子湖",
    "如意湖",
]
BRANDS = [
    "仁济",
    "华山",
    "长城",
    "和谐",
    "东方",
    "阳光",
    "仁爱",
    "博爱",
    "协和",
    "同仁",
    "康宁",
    "永安",
    "天佑",
    "弘大",
    "瑞康",
    "圣德",
    "福华",
    "嘉禾",
    "颐和",
    "中康",
]
PRIVATE_KINDS = [
    "医院",
    "骨科医院",
    "心血管病医院",
    "肿瘤医院",
    "中西医结合医院",
    "康复医院",
    "精神病医院",
]


@dataclass
class Hospitals:
    district: list[str]
    cls: np.ndarray  # index into settings hospitals.classes
    public: np.ndarray
    names: list[str]
    case_weight: np.ndarray
    qualifying: np.ndarray  # public and of a class experts may come from (ZZ-EXPERT-QUAL)


@dataclass
class Experts:
    hospital: np.ndarray
    spec: np.ndarray
    title: np.ndarray  # index into TITLES
    registered: np.ndarray  # epoch day
    register_disq: np.ndarray  # epoch day of disqualified_on, NONE if never
    unqualified: np.ndarray
    p_late: np.ndarray
    name_idx: np.ndarray

    def __len__(self) -> int:
        return len(self.spec)


def _short(district: str) -> str:
    return district if district.endswith(("县", "市")) else f"郑州市{district}"


def _hospital_name(rng: np.random.Generator, district: str, cls: str, public: bool) -> str:
    if public and cls == "一类":
        return f"{_short(district)}{PLACES[rng.integers(len(PLACES))]}{PUBLIC_KINDS[cls][rng.integers(3)]}"
    if public:
        kinds = PUBLIC_KINDS[cls]
        return f"{_short(district)}{kinds[rng.integers(len(kinds))]}"
    brand = BRANDS[rng.integers(len(BRANDS))]
    kind = PRIVATE_KINDS[rng.integers(len(PRIVATE_KINDS))]
    prefix = district[:2] if district.endswith(("县", "市")) else "郑州"
    return f"{prefix}{brand}{kind}"


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        k = seen.get(name, 0)
        seen[name] = k + 1
        tag = NUMERALS[k] if k < len(NUMERALS) else str(k + 1)
        out.append(name if k == 0 else f"{name}（{tag}院区）")
    return out


def make_hospitals(rng: np.random.Generator, n: int, st: dict[str, Any], rules: Rules) -> Hospitals:
    """n hospitals across the districts and the 5 counties + 1 district, the first few public 三类."""
    d, h = st["districts"], st["hospitals"]
    districts = d["core"] + d["county"]
    w = np.array(d["core_weights"] + d["county_weights"], dtype=float)
    dist = rng.choice(len(districts), n, p=w / w.sum())
    n_core = len(d["core"])
    core_p, county_p = np.array(h["core_class_p"]), np.array(h["county_class_p"])
    u = rng.random(n)
    cls = np.where(
        dist < n_core,
        np.searchsorted(np.cumsum(core_p), u * core_p.sum(), side="right"),
        np.searchsorted(np.cumsum(county_p), u * county_p.sum(), side="right"),
    )
    public = rng.random(n) < np.array(h["public_p"])[cls]
    top = h["min_public_tertiary"]
    cls[:top] = len(h["classes"]) - 1
    public[:top] = True
    dist[:top] = rng.integers(0, n_core, top)
    classes = h["classes"]
    names = _dedupe(
        [
            _hospital_name(rng, districts[dist[i]], classes[cls[i]], bool(public[i]))
            for i in range(n)
        ]
    )
    ownership = np.where(public, OWNERSHIP[0], OWNERSHIP[1])
    qualifying = np.isin(ownership, list(rules.ownership)) & np.isin(
        np.array(classes)[cls], list(rules.classes)
    )
    return Hospitals(
        district=[districts[i] for i in dist],
        cls=cls,
        public=public,
        names=names,
        case_weight=np.array(h["case_weight"])[cls] * rng.lognormal(0, 0.6, n),
        qualifying=qualifying,
    )


def _day(text: str | dt.date) -> int:
    day = text if isinstance(text, dt.date) else dt.date.fromisoformat(text)
    return int(np.datetime64(day, "D").astype(np.int64))


def make_experts(
    rng: np.random.Generator,
    n: int,
    hospitals: Hospitals,
    cat: Catalogue,
    st: dict[str, Any],
    rules: Rules,
    pool: NamePool,
    window: tuple[int, int],
    n_cases: int,
    breaches: bool,
) -> Experts:
    """The register: specialties volume-weighted by disease; planted oddities only with breaches."""
    sc, ex, br = st["scale"], st["experts"], st["breaches"]
    start, end = window
    n_spec = len(cat.specialties)
    share = np.bincount(cat.spec, weights=cat.weight, minlength=n_spec) / cat.weight.sum()
    per_spec = np.maximum(sc["min_experts_per_specialty"], np.round(n * share).astype(np.int64))
    spec = np.repeat(np.arange(n_spec), per_spec)
    m = len(spec)
    rank_in_spec = np.arange(m) - np.repeat(np.cumsum(per_spec) - per_spec, per_spec)
    protected = rank_in_spec < sc["min_experts_per_specialty"] // 2

    qual_h = np.flatnonzero(hospitals.qualifying)
    hw = np.array(st["hospitals"]["expert_weight"])[hospitals.cls[qual_h]]
    hw = hw * rng.lognormal(0, 0.4, len(qual_h))
    hospital = qual_h[rng.choice(len(qual_h), m, p=hw / hw.sum())]
    title = np.where(rng.random(m) < ex["senior_share"], 0, 1)

    first = _day(ex["first_registered"])
    late = (rng.random(m) < ex["late_registered_share"]) & ~protected
    registered = np.where(
        late,
        rng.integers(start, max(start + 1, end - 30), m),
        rng.integers(first, max(first + 1, start), m),
    )
    register_disq = np.full(m, NONE, dtype=np.int64)
    p_late = np.zeros(m)
    unqualified = np.zeros(m, dtype=bool)
    if breaches:
        free = np.flatnonzero(~protected)
        k = min(len(free), max(1, round(m * br["register_disqualified"])))
        chosen = np.sort(rng.choice(free, k, replace=False))
        registered[chosen] = rng.integers(first, max(first + 1, start - 60), k)
        before = rng.random(k) < 0.25
        register_disq[chosen] = np.where(
            before,
            rng.integers(registered[chosen] + 30, np.maximum(registered[chosen] + 31, start)),
            rng.integers(start + 30, max(start + 31, end - 10), k),
        )
        p_late[:] = br["normal_late_per_task"]
        p_late[chosen] = 0.0
        eligible = np.flatnonzero(~protected & (register_disq == NONE) & (registered < start))
        k = min(len(eligible), max(2, round(m * br["chronic_expert_share"])))
        # lateness clusters in small expert teams, so a few hospitals reach the ZZ-HOSPITAL5 line
        team = np.bincount(hospital, minlength=len(hospitals.names))[hospital[eligible]]
        chronic = rng.choice(eligible, k, replace=False, p=(1 / team) / (1 / team).sum())
        lo, hi = br["chronic_late_p"]
        # pushes per case ≈ 2 / (1 - decline rate), spread over the specialty's experts; the
        # target is per calendar year (strikes are numbered per year) or per shorter window
        years = max(1.0, (end - start + 1) / 365.25)
        pushes = n_cases * share * 2 / (1 - st["flow"]["decline_rate"]) / per_spec / years
        expected = pushes[spec[chronic]]
        p_late[chronic] = np.clip(br["chronic_target_strikes"] / np.maximum(expected, 1), lo, hi)
        hospital, spec, title, registered, register_disq, p_late, unqualified = _add_unqualified(
            rng,
            hospitals,
            br,
            m,
            first,
            start,
            cat,
            share,
            (hospital, spec, title, registered, register_disq, p_late, unqualified),
        )
    male = rng.random(len(spec)) < 0.6
    return Experts(
        hospital=hospital,
        spec=spec,
        title=title,
        registered=registered,
        register_disq=register_disq,
        unqualified=unqualified,
        p_late=p_late,
        name_idx=pool.draw(rng, male),
    )


def _add_unqualified(
    rng: np.random.Generator,
    hospitals: Hospitals,
    br: dict[str, Any],
    m: int,
    first: int,
    start: int,
    cat: Catalogue,
    share: np.ndarray,
    cols: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, ...]:
    """ZZ-EXPERT-QUAL: a few experts with a junior title or from a private / 一类 hospital."""
    k = max(2, round(m * br["unqualified_experts"]))
    spec = rng.choice(len(cat.specialties), k, p=share)
    other_h = np.flatnonzero(~hospitals.qualifying)
    qual_h = np.flatnonzero(hospitals.qualifying)
    by_hospital = (np.arange(k) % 2 == 1) & (len(other_h) > 0)
    hospital = np.where(
        by_hospital,
        other_h[rng.integers(0, max(1, len(other_h)), k)] if len(other_h) else 0,
        qual_h[rng.integers(0, len(qual_h), k)],
    )
    title = np.where(by_hospital, 1, 2)
    new = (
        hospital,
        spec,
        title,
        rng.integers(first, max(first + 1, start), k),
        np.full(k, NONE, dtype=np.int64),
        np.zeros(k),
        np.ones(k, dtype=bool),
    )
    return tuple(np.concatenate([a, b]) for a, b in zip(cols, new, strict=True))
