-- mart_violations: every breach as of $as_of the data can show, one audit per rule of
-- shared/RULES.md; columns and order of the `violations` command (nulls sort as empty text).
-- refs: audit_zz_accept, audit_zz_complete, audit_zz_strike_after, audit_zz_assign, audit_zz_verdict, audit_zz_reapply, audit_zz_upload, audit_zz_expert_qual, audit_zz_benefit, audit_ty_cycle, audit_ty_publicity, audit_ty_entry, audit_ty_benefit, audit_ty_recert, audit_ty_panel, audit_ty_penalty
with

unioned as (
    select * from audit_zz_accept
    union all
    select * from audit_zz_complete
    union all
    select * from audit_zz_strike_after
    union all
    select * from audit_zz_assign
    union all
    select * from audit_zz_verdict
    union all
    select * from audit_zz_reapply
    union all
    select * from audit_zz_upload
    union all
    select * from audit_zz_expert_qual
    union all
    select * from audit_zz_benefit
    union all
    select * from audit_ty_cycle
    union all
    select * from audit_ty_publicity
    union all
    select * from audit_ty_entry
    union all
    select * from audit_ty_benefit
    union all
    select * from audit_ty_recert
    union all
    select * from audit_ty_panel
    union all
    select * from audit_ty_penalty
),

final as (
    select rule_id, case_id, task_id, expert_id, hospital_id, detail
    from unioned
)

select * from final
order by
    rule_id,
    case_id nulls first,
    task_id nulls first,
    expert_id nulls first,
    hospital_id nulls first,
    detail
