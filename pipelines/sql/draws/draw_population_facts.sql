-- What a frozen record states about a population staged in DuckDB (view draw_population: id,
-- stratum, hospital_id): its size and distinct ids, whether an id is unusable ($id_problem =
-- keys.ID_PROBLEM_RE2; empty and NULL too), whether any text needs JSON escaping ($needs_escape:
-- what json.dumps escapes) and the digest (SHA-256 of the ids in code-point order, each followed
-- by a line feed = keys.population_digest). The stored list is draw_population_json.sql: DuckDB
-- runs the two ordered aggregates faster apart than together.
with population as (
    select
        id,
        stratum,
        hospital_id
    from draw_population
),

final as (
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
        ) as needs_escape,
        sha256(coalesce(string_agg(id || chr(10), '' order by id), '')) as digest
    from population
)

select * from final
