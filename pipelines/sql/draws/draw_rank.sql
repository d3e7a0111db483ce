-- Verifiable draw (shared/RULES.md "Verifiable draws"): key = sha256(seed || '|' || id) as
-- lowercase hex of the UTF-8 bytes; rank = position by key ascending within the stratum; the
-- first k of each stratum are drawn. Inputs: views draw_population(id, stratum, hospital_id) and
-- draw_quota(stratum, k); parameter $seed (text).
with population as (
    select id, stratum, hospital_id from draw_population
),

quota as (
    select stratum, k from draw_quota
),

keyed as (
    select
        id,
        stratum,
        hospital_id,
        sha256($seed || '|' || id) as key
    from population
),

ranked as (
    select
        *,
        row_number() over (partition by stratum order by key, id) as rank
    from keyed
),

final as (
    select
        ranked.id,
        ranked.stratum,
        ranked.rank,
        ranked.key,
        ranked.hospital_id
    from ranked
    inner join quota on ranked.stratum = quota.stratum
    where ranked.rank <= quota.k
)

select * from final
order by stratum, rank
