-- mart_hospital_penalty: ZZ-HOSPITAL5 — per year from $year_from to $year_to (default: the first
-- registration year to the year of $as_of) and per hospital with experts in the pool that year:
-- total = registered by 31 Dec and not disqualified before 1 Jan; disqualified = disqualified
-- during the year. Penalised when disqualified >= penalty_min and
-- disqualified / total >= penalty_num / penalty_den, compared exactly in integers.
-- refs: fct_disqualifications
with

years as (
    select cast(range as integer) as year
    from range(
        coalesce($year_from, (select min(year(registered_on)) from stg_experts), year($as_of)),
        coalesce($year_to, year($as_of)) + 1
    )
),

experts as (
    select
        e.expert_id,
        e.hospital_id,
        e.registered_on,
        d.disqualified_at
    from stg_experts as e
    left join fct_disqualifications as d using (expert_id)
),

pool as (
    select
        y.year,
        x.hospital_id,
        x.expert_id,
        coalesce(x.disqualified_at < make_timestamp(y.year + 1, 1, 1, 0, 0, 0), false)
            as is_disqualified_in_year
    from years as y
    inner join experts as x
        on x.registered_on <= make_date(y.year, 12, 31)
        and (
            x.disqualified_at is null
            or x.disqualified_at >= make_timestamp(y.year, 1, 1, 0, 0, 0)
        )
),

counts as (
    select
        year,
        hospital_id,
        count(*) as experts_total,
        count(*) filter (where is_disqualified_in_year) as experts_disqualified
    from pool
    group by year, hospital_id
),

judged as (
    select
        *,
        experts_disqualified >= $penalty_min
        and experts_disqualified * $penalty_den >= experts_total * $penalty_num as penalized,
        experts_disqualified + 1 >= $penalty_min
        and experts_disqualified + 1 <= experts_total
        and (experts_disqualified + 1) * $penalty_den >= experts_total * $penalty_num
            as is_penalized_with_one_more
    from counts
),

final as (
    select
        j.year,
        j.hospital_id,
        h.hospital_name,
        h.district,
        j.experts_total,
        j.experts_disqualified,
        -- exact half-up rounding of disqualified / total to 4 decimals
        cast(
            (20000 * j.experts_disqualified + j.experts_total) // (2 * j.experts_total)
            as decimal(18, 0)
        ) * 0.0001 as ratio,
        j.penalized,
        not j.penalized and j.is_penalized_with_one_more as one_more_penalized
    from judged as j
    left join stg_hospitals as h using (hospital_id)
)

select * from final
order by year, hospital_id
