-- What a frozen record states about a population staged in DuckDB (view draw_population: id,
-- stratum, hospital_id): its size and distinct ids, whether an id is unusable ($id_problem =
-- keys.ID_PROBLEM_RE2; empty and NULL too), whether any text needs JSON escaping ($needs_escape:
-- what json.dumps escapes) and the text of the digest (id_lines: the ids in code-point order, each
-- followed by a line feed; its SHA-256 = keys.population_digest, taken by Python's hashlib, faster
-- than DuckDB's on megabytes). The stored list is draw_population_json.sql: DuckDB
-- runs the two ordered aggregates faster apart than together.
-- The ids pass one pattern, $id_suspect (either of the two), and the two are told apart over the
-- suspects alone (none, in practice); strata and hospitals are checked once per distinct pair,
-- for JSON escapes and for nulls (has_null: draw_population_json.sql's plain form needs none).
with population as (
    select
        id,
        stratum,
        hospital_id
    from draw_population
),

ids as (
    select
        count(*) as population_size,
        count(distinct id) as distinct_ids,
        coalesce(string_agg(id || chr(10), '' order by id), '') as id_lines
    from population
),

suspects as (
    select id
    from population
    where id is null or id = '' or regexp_matches(id, $id_suspect)
),

labels as (
    select distinct
        stratum,
        hospital_id
    from population
),

final as (
    select
        ids.population_size,
        ids.distinct_ids,
        coalesce(
            (
                select bool_or(id is null or id = '' or regexp_matches(id, $id_problem))
                from suspects
            ),
            false
        ) as unusable,
        coalesce((select bool_or(regexp_matches(id, $needs_escape)) from suspects), false)
        or coalesce(
            (
                select
                    bool_or(
                        regexp_matches(
                            coalesce(stratum, '') || coalesce(hospital_id, ''), $needs_escape
                        )
                    )
                from labels
            ),
            false
        ) as needs_escape,
        coalesce(
            (select bool_or(stratum is null or hospital_id is null) from labels), false
        ) as has_null,
        ids.id_lines
    from ids
)

select * from final
