-- Verifiable draw (shared/RULES.md "Verifiable draws"): key = sha256(seed || '|' || id) as
-- lowercase hex of the UTF-8 bytes; rank = position by key ascending within the stratum; the
-- first k of each stratum are drawn. Inputs: views draw_population(id, stratum, hospital_id) and
-- draw_quota(stratum, k); parameters $seed (text) and $spare (≥ 0, see below).
--
-- Only candidates are sorted: keys are uniform hex, so a stratum of n members has about
-- (k + s) members whose key lies below the 8-hex-digit bound (k + s) / n of the key range, with
-- s = $spare × (4·√k + 16) spare ones (four standard deviations and more). A stratum with fewer
-- than k members below its bound (rare; every one with $spare = 0 tried in the tests) sorts all
-- its members; the first k by key are the same either way.
with population as (
    select id, stratum, hospital_id from draw_population
),

quota as (
    select stratum, k from draw_quota
),

keyed as materialized (
    select
        id,
        stratum,
        hospital_id,
        sha256($seed || '|' || id) as key
    from population
),

sizes as (
    select stratum, count(*) as n
    from population
    group by stratum
),

bounds as (
    select
        quota.stratum,
        quota.k,
        quota.k + $spare * (4 * sqrt(quota.k) + 16) as wanted,
        sizes.n
    from quota
    inner join sizes on quota.stratum = sizes.stratum
),

limits as (
    select
        stratum,
        k,
        case
            when wanted >= n then 'g'  -- above every hex key: the whole stratum
            else lpad(printf('%x', floor(wanted / n * 4294967296)::ubigint), 8, '0')
        end as below
    from bounds
),

below as (
    select
        keyed.*,
        limits.k
    from keyed
    inner join limits on keyed.stratum = limits.stratum
    where keyed.key < limits.below
),

short as (
    select limits.stratum
    from limits
    left join (
        select stratum, count(*) as found from below group by stratum
    ) as counted on limits.stratum = counted.stratum
    where coalesce(counted.found, 0) < limits.k
),

candidates as (
    select * from below
    union all
    select
        keyed.*,
        limits.k
    from keyed
    inner join limits on keyed.stratum = limits.stratum
    inner join short on keyed.stratum = short.stratum
    where keyed.key >= limits.below
),

ranked as (
    select
        *,
        row_number() over (partition by stratum order by key, id) as rank
    from candidates
),

final as (
    select
        id,
        stratum,
        rank,
        key,
        hospital_id
    from ranked
    where rank <= k
)

select * from final
order by stratum, rank
