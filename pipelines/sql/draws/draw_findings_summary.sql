-- ZZ-SPOTCHECK findings per hospital for one draw: cases drawn, checked, 合格 / 不合格 and the
-- amount to recover, from the latest finding per case. Input view draw_picks(case_id, hospital_id);
-- $district keeps one district's hospitals (null: the city).
with picks as (
    select
        case_id,
        hospital_id
    from draw_picks
),

hospitals as (
    select
        hospital_id,
        hospital_name,
        district
    from stg_hospitals
),

findings as (
    select
        case_id,
        result,
        recover_yuan
    from spot_check_findings_latest
    where draw_id = $draw_id
),

final as (
    select
        picks.hospital_id,
        any_value(hospitals.hospital_name) as hospital_name,
        count(*) as cases_drawn,
        count(findings.case_id) as cases_checked,
        count(*) filter (where findings.result = '合格') as cases_passed,
        count(*) filter (where findings.result = '不合格') as cases_failed,
        cast(coalesce(sum(findings.recover_yuan), 0) as decimal(18, 2)) as recover_yuan
    from picks
    left join hospitals on picks.hospital_id = hospitals.hospital_id
    left join findings on picks.case_id = findings.case_id
    where $district is null or hospitals.district = $district
    group by picks.hospital_id
)

select * from final
order by hospital_id
