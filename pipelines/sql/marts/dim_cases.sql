-- dim_cases: every loaded case with its submitting hospital's district and its disease's
-- specialty — the years the filters offer, and which case ids a district user may see.
-- refs:
-- After a load its rows of the cases loaded again are redone (every evaluation time alike):
-- delta: stg_cases(case_id)
-- present: true
-- settled: true
with

final as (
    select
        c.case_id,
        c.hospital_id,
        h.district,
        d.specialty,
        c.submitted_at,
        c.outcome
    from stg_cases as c
    left join stg_hospitals as h using (hospital_id)
    left join ref_diseases as d using (disease_name)
)

select * from final
order by case_id
