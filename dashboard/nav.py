"""The sidebar: sections and pages (file, link title, icon, default) — read by the router
(dashboard/app.py) and by the benchmark's browser stage. `sections(profile)` gives a city's
sidebar: Taiyuan's measures replace Zhengzhou's push-and-strike pages."""

from __future__ import annotations

SECTIONS = {
    "日常监管": [
        ("home.py", "总览", ":material/dashboard:", True),
        ("experts.py", "专家时效", ":material/timer:", False),
        ("hospitals.py", "医院考核", ":material/local_hospital:", False),
        ("actions.py", "处置台账", ":material/task_alt:", False),
        ("violations.py", "规则核查", ":material/rule:", False),
        ("fees.py", "劳务费与归档", ":material/payments:", False),
    ],
    "随机抽取": [
        ("spot_check.py", "抽查", ":material/fact_check:", False),
        ("meeting_draw.py", "双随机抽取", ":material/casino:", False),
        ("review.py", "季度复核", ":material/event_repeat:", False),
        ("audit_log.py", "审计日志", ":material/verified:", False),
    ],
    "数据管理": [
        ("data.py", "数据", ":material/database:", False),
    ],
}

# 太原: certification by hospital panels, no expert pushes nor strikes (并医险中心字〔2022〕108号)
TY_SECTIONS = {
    **SECTIONS,
    "日常监管": [
        ("home.py", "总览", ":material/dashboard:", True),
        ("ty_measures.py", "认定时效与专家组", ":material/local_hospital:", False),
        ("ty_sanctions.py", "处理决定", ":material/gavel:", False),
        ("violations.py", "规则核查", ":material/rule:", False),
        ("fees.py", "劳务费与归档", ":material/payments:", False),
    ],
}


def sections(profile_name: str) -> dict[str, list[tuple[str, str, str, bool]]]:
    """The sidebar of a rule profile."""
    return TY_SECTIONS if profile_name == "taiyuan" else SECTIONS


def shown(page_file: str, profile_name: str) -> bool:
    """Whether a page is in the profile's sidebar (a link to one that is not would fail)."""
    return any(f == page_file for pages in sections(profile_name).values() for f, *_ in pages)
