-- ZZ-SPOTCHECK / TY-REVIEW: the population of a case draw — approved (符合) cases whose decided_at
-- falls on a date in $date_from..$date_to inclusive, with the submitting hospital (the stratum)
-- and the specialty of the disease (ref_diseases), which the review's expert draw needs. Unsorted:
-- a caller orders it if it needs to (spot-check stages it as it comes and sorts once, in SQL).
with cases as (
    select
        case_id,
        hospital_id,
        disease_name,
        outcome,
        decided_at
    from stg_cases
),

diseases as (
    select
        disease_name,
        specialty
    from ref_diseases
),

final as (
    select
        cases.case_id,
        cases.hospital_id,
        cases.disease_name,
        diseases.specialty
    from cases
    left join diseases on cases.disease_name = diseases.disease_name
    where
        cases.outcome = '符合'
        and cast(cases.decided_at as date) between $date_from and $date_to
)

select * from final
