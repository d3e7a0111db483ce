-- What a frozen record states about a population staged in DuckDB (view draw_population: id,
-- stratum, hospital_id), in one pass: its size and distinct ids, whether an id is unusable
-- ($id_problem = keys.ID_PROBLEM_RE2; empty and NULL too), whether any text needs JSON escaping
-- ($needs_escape: what json.dumps escapes), the digest (SHA-256 of the ids in code-point order,
-- each followed by a line feed = keys.population_digest) and the stored list as
-- log.population_json writes it (valid only when nothing needs escaping).
with population as (
    select
        id,
        stratum,
        hospital_id
    from draw_population
),

flagged as (
    select
        id,
        '[' || coalesce('"' || id || '"', 'null')
        || ',' || coalesce('"' || stratum || '"', 'null')
        || ',' || coalesce('"' || hospital_id || '"', 'null') || ']' as row_json,
        id is null or id = '' or regexp_matches(id, $id_problem) as unusable,
        regexp_matches(id, $needs_escape)
        or regexp_matches(stratum, $needs_escape)
        or regexp_matches(hospital_id, $needs_escape) as escaped
    from population
),

final as (
    select
        count(*) as population_size,
        count(distinct id) as distinct_ids,
        coalesce(bool_or(unusable), false) as unusable,
        coalesce(bool_or(escaped), false) as needs_escape,
        sha256(coalesce(string_agg(id || chr(10), '' order by id), '')) as digest,
        '{"columns":["id","stratum","hospital_id"],"rows":['
        || coalesce(string_agg(row_json, ',' order by id), '') || ']}' as population
    from flagged
)

select * from final
