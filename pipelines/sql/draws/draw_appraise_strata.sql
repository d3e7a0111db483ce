-- What a spot check tells (RULES "What a spot check tells"): the per-hospital sums the estimates
-- need, from the latest finding per drawn case of one draw. Inputs: draw_frame(hospital_id,
-- frame_n) — the frozen population per hospital — and draw_picks(case_id, hospital_id) — the
-- draw's random picks as they stand (a review's appealed cases by their appeal finding); $district keeps one district's hospitals (null: the city). Amounts are summed in fen as integers so Σy² is exact.
with frame as (
    select
        hospital_id,
        frame_n
    from draw_frame
),

picks as (
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

-- a TY-REVIEW case's final finding is its appeal panel's majority (RULES TY-REVIEW): 符合 on
-- appeal is 合格 with nothing to recover; a spot check (ZZ) has no appeals
appeals as (
    select
        case_id,
        final
    from appeal_findings_latest
    where $draw_id in (select draw_id from draw_log where kind = 'review_cases')
),

findings as (
    select
        f.case_id,
        case a.final when '符合' then '合格' when '不符合' then '不合格' else f.result end as result,
        case
            when a.final = '符合' then 0
            else cast(round(f.recover_yuan * 100) as hugeint)
        end as fen
    from spot_check_findings_latest as f
    left join appeals as a on f.case_id = a.case_id
    where f.draw_id = $draw_id
),

checked as (
    select
        picks.hospital_id,
        count(*) as drawn_n,
        count(findings.case_id) as checked_n,
        count(*) filter (where findings.result = '不合格') as improper_n,
        coalesce(sum(findings.fen), 0) as sum_fen,
        coalesce(sum(findings.fen * findings.fen), 0) as sum_fen2
    from picks
    left join findings on picks.case_id = findings.case_id
    group by picks.hospital_id
),

final as (
    select
        frame.hospital_id,
        hospitals.hospital_name,
        frame.frame_n,
        coalesce(checked.drawn_n, 0) as drawn_n,
        coalesce(checked.checked_n, 0) as checked_n,
        coalesce(checked.improper_n, 0) as improper_n,
        cast(coalesce(checked.sum_fen, 0) as hugeint) as sum_fen,
        cast(coalesce(checked.sum_fen2, 0) as hugeint) as sum_fen2
    from frame
    left join checked on frame.hospital_id = checked.hospital_id
    left join hospitals on frame.hospital_id = hospitals.hospital_id
    where $district is null or hospitals.district = $district
)

select * from final
order by hospital_id
