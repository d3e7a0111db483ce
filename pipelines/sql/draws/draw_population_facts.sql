-- What a frozen record states about a population staged in DuckDB (view draw_population: id,
-- stratum, hospital_id): its size and distinct ids, whether an id is unusable ($id_problem =
-- keys.ID_PROBLEM_RE2; empty and NULL too), whether any text needs JSON escaping ($needs_escape:
-- what json.dumps escapes), the digest (SHA-256 of the ids in code-point order, each followed by
-- a line feed = keys.population_digest) and the stored list as log.population_json writes it
-- (valid only when nothing needs escaping). The checks and the two ordered texts are separate
-- aggregates: DuckDB runs each faster alone than all in one.
with population as (
    select
        id,
        stratum,
        hospital_id
    from draw_population
),

checks as (
    select
        count(*) as population_size,
        count(distinct id) as distinct_ids,
        coalesce(bool_or(id is null or id = '' or regexp_matches(id, $id_problem)), false)
            as unusable,
        coalesce(
            bool_or(
                regexp_matches(
                    coalesce(id, '') || coalesce(stratum, '') || coalesce(hospital_id, ''),
                    $needs_escape
                )
            ),
            false
        ) as needs_escape
    from population
),

texts as (
    select
        sha256(coalesce(string_agg(id || chr(10), '' order by id), '')) as digest,
        '{"columns":["id","stratum","hospital_id"],"rows":['
        || coalesce(
            string_agg(
                '[' || coalesce('"' || id || '"', 'null')
                || ',' || coalesce('"' || stratum || '"', 'null')
                || ',' || coalesce('"' || hospital_id || '"', 'null') || ']',
                ',' order by id
            ),
            ''
        )
        || ']}' as population
    from population
),

final as (
    select
        checks.population_size,
        checks.distinct_ids,
        checks.unusable,
        checks.needs_escape,
        texts.digest,
        texts.population
    from checks
    cross join texts
)

select * from final
