"""The one-line summaries of the rule verbs, counted in SQL over the rows they write
(`rules.cli.export_model`), on test_rules_cli's warehouse — hand-counted from its CSVs."""

from __future__ import annotations

import pytest
from test_rules_cli import AS_OF, main, warehouse  # noqa: F401  (fixtures)


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["strikes", "--year", "2026", "--as-of", AS_OF],
            "2026 年超时违规 4 次，涉及专家 2 人，其中取消资格 1 次",
        ),
        (
            ["penalties", "--year", "2026", "--as-of", AS_OF],
            "2026 年医院 2 家，年终考核扣分 1 家，再取消 1 名专家即扣分 1 家",
        ),
        (["violations", "--as-of", AS_OF], "截至 2026-12-01 00:00:00 违规 5 条，涉及规则 3 条"),
        (["fees", "--month", "2026-03"], "2026-03 鉴定费：专家 2 人，鉴定 2 例，合计 20 元"),
        (
            ["at-risk", "--as-of", "2026-03-06 13:30:00"],
            "截至 2026-03-06 13:30:00 即将超时任务 1 个（待响应 1，待完成 0；"
            "其中已过期限、数据未显示的待核实 0 个）",
        ),
        (["archive", "--month", "2026-03"], "2026-03 办结归档：1 个病种，共 1 例"),
        (
            ["strikes", "--year", "2025", "--as-of", AS_OF],
            "2025 年超时违规 0 次，涉及专家 0 人，其中取消资格 0 次",
        ),
        (["fees", "--month", "2026-01"], "2026-01 鉴定费：专家 0 人，鉴定 0 例，合计 0 元"),
    ],
)
def test_summary_line(main, capsys, warehouse, tmp_path, argv, line):  # noqa: F811
    out = tmp_path / "out.csv"
    status = main([*argv, "--db", str(warehouse), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 0, err
    assert err.splitlines()[-1] == f"{line} → {out}"
