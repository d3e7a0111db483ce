-- mart_ty_hospital: Taiyuan's measures per hospital as of $as_of — 定额 cases certified, those
-- over the TY-CYCLE limit, with a TY-PUBLICITY or TY-ENTRY breach, TY-PANEL shortfalls (cases),
-- re-certifications and those over TY-RECERT, and TY-PENALTY breaches (mart_violations).
-- refs: mart_ty_cases, mart_ty_recerts, mart_violations
with

hospitals as (
    select hospital_id, hospital_name, district from stg_hospitals
),

cases as (
    select hospital_id, count(*) as quota_cases
    from mart_ty_cases
    group by hospital_id
),

recerts as (
    select hospital_id, count(*) as recerts, count(*) filter (where is_late) as recerts_late
    from mart_ty_recerts
    group by hospital_id
),

breaches as (
    select
        hospital_id,
        count(distinct case_id) filter (where rule_id = 'TY-CYCLE') as cycle_late,
        count(distinct case_id) filter (where rule_id = 'TY-PUBLICITY') as publicity_breaches,
        count(distinct case_id) filter (where rule_id = 'TY-ENTRY') as entry_late,
        count(distinct case_id) filter (where rule_id = 'TY-PANEL') as panel_breaches,
        count(*) filter (where rule_id = 'TY-PENALTY') as penalty_breaches
    from mart_violations
    where rule_id like 'TY-%'
    group by hospital_id
),

final as (
    select
        h.hospital_id,
        h.hospital_name,
        h.district,
        coalesce(c.quota_cases, 0) as quota_cases,
        coalesce(b.cycle_late, 0) as cycle_late,
        coalesce(b.publicity_breaches, 0) as publicity_breaches,
        coalesce(b.entry_late, 0) as entry_late,
        coalesce(b.panel_breaches, 0) as panel_breaches,
        coalesce(r.recerts, 0) as recerts,
        coalesce(r.recerts_late, 0) as recerts_late,
        coalesce(b.penalty_breaches, 0) as penalty_breaches
    from hospitals as h
    left join cases as c on c.hospital_id = h.hospital_id
    left join recerts as r on r.hospital_id = h.hospital_id
    left join breaches as b on b.hospital_id = h.hospital_id
    where $ty_enabled
)

select * from final
order by hospital_id
