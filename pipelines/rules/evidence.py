"""Evidence for every accusation (ZZ-STRIKE, ZZ-HOSPITAL5, ZZ-DISPUTE): what each strike of an
expert rests on (`mart_strike_evidence`), and the year-end file that takes a penalised hospital
to each disqualified expert and the three strikes behind each disqualification."""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.config import Profile
from pipelines.rules.engine import run
from pipelines.rules.penalty import hospital_penalties
from pipelines.rules.strikes import expert_disqualifications

if TYPE_CHECKING:  # pandas imported where used: a command that needs none loads none
    import pandas as pd

EVIDENCE_COLUMNS = [
    "strike_no",
    "task_id",
    "case_id",
    "kind",
    "pushed_at",
    "responded_at",
    "completed_at",
    "deadline",
    "action",
    "status",
]
KIND_ZH = {"accept_timeout": "超时未响应（8小时）", "complete_timeout": "超时未完成（2个工作日）"}
ACTION_ZH = {
    "sms": "短信通知",
    "notify_hospital": "通报所在医院",
    "disqualify": "取消鉴定专家资格",
    "after_disqualified": "取消资格后再次超时",
}
STATUS_ZH = {"valid": "有效", "upheld": "申诉维持", "voided": "已撤销"}


def strike_evidence(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.datetime | None,
    profile: Profile,
    expert_id: str | None = None,
    year: int | None = None,
) -> pa.Table:
    """Every missed deadline (voided too) with what it rests on; one expert / year when given."""
    where = {"expert_id": expert_id, "strike_year": year}
    return run(
        con,
        "mart_strike_evidence",
        profile,
        as_of,
        where={k: v for k, v in where.items() if v is not None},
    )


HISTORY_SQL = """
with live as (
    select expert_id, strike_year, strike_no, task_id, deadline
    from mart_strike_evidence where status <> 'voided'
)
select s.task_id,
       string_agg(
           '第' || p.strike_no || '次 ' || p.task_id || ' 时限 '
               || strftime(p.deadline, '%Y-%m-%d %H:%M:%S'),
           '；' order by p.strike_no
       ) as history
from live as s
inner join live as p
    on p.expert_id = s.expert_id and p.strike_year = s.strike_year and p.strike_no <= s.strike_no
where s.task_id in (select unnest(?::varchar[]))
group by s.task_id
order by s.task_id
"""


def strike_histories(con: duckdb.DuckDBPyConnection, task_ids: list[str]) -> pd.DataFrame:
    """For each given strike (by task), its expert's strikes of that year up to and including it,
    voided ones left out, as one text: "第1次 T1 时限 2026-03-02 17:00:00；第2次 …".
    Columns task_id, history; a task that is no live strike has no row."""
    return con.execute(HISTORY_SQL, [list(task_ids)]).df()


def _zh_strikes(table: pa.Table) -> pd.DataFrame:
    import pandas as pd

    df = table.to_pandas()
    return pd.DataFrame(
        {
            "医院编码": df["hospital_id"],
            "专家编码": df["expert_id"],
            "违规序号": df["strike_no"],
            "任务编号": df["task_id"],
            "申报编号": df["case_id"],
            "违规类型": df["kind"].map(KIND_ZH),
            "推送时间": df["pushed_at"],
            "响应时间": df["responded_at"],
            "响应": df["response"],
            "完成时间": df["completed_at"],
            "期限": df["deadline"],
            "处理措施": df["action"].map(ACTION_ZH),
            "状态": df["status"].map(STATUS_ZH),
            "申诉处理理由": df["decision_reason"].fillna(df["outage_reason"]),
            "决定人": df["decided_by"],
            "决定时间": df["decided_at"],
        }
    )


def year_end_evidence(
    con: duckdb.DuckDBPyConnection, year: int, as_of: dt.datetime | None, profile: Profile
) -> dict[str, pd.DataFrame]:
    """ZZ-HOSPITAL5 evidence for year: the penalised hospitals, their experts disqualified in the
    year, and every strike of those experts in the year (voided ones with their decisions)."""
    import pandas as pd

    pen = hospital_penalties(con, as_of, profile, year=year)
    pen = pen.filter(pc.equal(pen["penalized"], True))
    hospitals = set(pen.column("hospital_id").to_pylist())
    dq = expert_disqualifications(con, as_of, profile).to_pandas()
    dq = dq[pd.to_datetime(dq["disqualified_at"]).dt.year == year]
    experts = con.execute("select expert_id, expert_name, hospital_id from stg_experts").df()
    dq = dq.merge(experts, on="expert_id")
    dq = dq[dq["hospital_id"].isin(hospitals)].sort_values(["hospital_id", "expert_id"])
    ev = strike_evidence(con, as_of, profile, year=year)
    ev = ev.filter(pc.is_in(ev["expert_id"], pa.array(dq["expert_id"].tolist(), pa.string())))
    p = pen.to_pandas()
    return {
        "扣分医院": pd.DataFrame(
            {
                "医院编码": p["hospital_id"],
                "医院名称": p["hospital_name"],
                "所属区县": p["district"],
                "专家总数": p["experts_total"],
                "取消资格人数": p["experts_disqualified"],
                "比例": p["ratio"].astype(float),
            }
        ),
        "取消资格专家": pd.DataFrame(
            {
                "医院编码": dq["hospital_id"],
                "专家编码": dq["expert_id"],
                "姓名": dq["expert_name"],
                "取消资格时间": dq["disqualified_at"],
                "依据": dq["source"].map({"strike": "第3次超时违规", "register": "专家库登记"}),
            }
        ),
        "违规依据": _zh_strikes(ev),
    }


def evidence_xlsx(sheets: dict[str, pd.DataFrame], title: str) -> bytes:
    """The year-end evidence as one xlsx, a sheet each, written by the one sheet writer."""
    from pipelines.sheets import write_sheets

    buf = io.BytesIO()
    write_sheets(sheets, buf, title=title)
    return buf.getvalue()
