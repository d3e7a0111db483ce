-- TY-REVIEW results per hospital for one review_cases draw: cases reviewed (a finding recorded),
-- final 符合 / 不符合 (an appeal panel's majority overrides the review finding), the 符合 rate,
-- appeals and appeals upheld (a 不符合 turned 符合), and the amount to recover on final 不符合.
-- Input view draw_picks(case_id, hospital_id).
with

picks as (
    select case_id, hospital_id from draw_picks
),

hospitals as (
    select hospital_id, hospital_name from stg_hospitals
),

findings as (
    select
        case_id,
        case when result = '合格' then '符合' else '不符合' end as reviewed,
        recover_yuan
    from spot_check_findings_latest
    where draw_id = $draw_id
),

appeals as (
    select case_id, final from appeal_findings_latest
),

cases as (
    select
        p.hospital_id,
        f.case_id is not null as is_reviewed,
        a.case_id is not null as is_appealed,
        coalesce(a.final, f.reviewed) as final,
        f.reviewed = '不符合' and a.final = '符合' as is_upheld,
        f.recover_yuan
    from picks as p
    left join findings as f on p.case_id = f.case_id
    left join appeals as a on f.case_id = a.case_id
),

final as (
    select
        c.hospital_id,
        any_value(h.hospital_name) as hospital_name,
        count(*) as cases_drawn,
        count(*) filter (where c.is_reviewed) as cases_reviewed,
        count(*) filter (where c.is_reviewed and c.final = '符合') as cases_passed,
        count(*) filter (where c.is_reviewed and c.final = '不符合') as cases_failed,
        cast(count(*) filter (where c.is_reviewed and c.final = '符合') as double)
        / nullif(count(*) filter (where c.is_reviewed), 0) as pass_rate,
        count(*) filter (where c.is_reviewed and c.is_appealed) as appeals,
        count(*) filter (where c.is_upheld) as appeals_upheld,
        cast(coalesce(sum(c.recover_yuan) filter (where c.final = '不符合'), 0)
            as decimal(18, 2)) as recover_yuan
    from cases as c
    left join hospitals as h on c.hospital_id = h.hospital_id
    group by c.hospital_id
)

select * from final
order by hospital_id
