-- The picks column of a draw record as log.picks_json writes it, from the picks draw_rank.sql
-- left in table draw_picks (id, stratum, rank, key, hospital_id; order by stratum, rank), and
-- whether any text needs JSON escaping ($needs_escape: what json.dumps escapes; the text is
-- valid only when nothing does). $check false: the population's texts were checked when it was
-- staged (draw_population_facts.sql) and need none, so the picks drawn from it need none either.
with picks as (
    select
        id,
        stratum,
        rank,
        key,
        hospital_id
    from draw_picks
),

flagged as (
    select
        stratum,
        rank,
        concat(
            '{"hospital_id":',
            case when hospital_id is null then 'null' else concat('"', hospital_id, '"') end,
            ',"id":"', id, '","key":"', key, '","rank":', rank, ',"stratum":',
            case when stratum is null then 'null' else concat('"', stratum, '"') end,
            '}'
        ) as pick_json,
        $check
        and (
            regexp_matches(id, $needs_escape)
            or regexp_matches(stratum, $needs_escape)
            or regexp_matches(hospital_id, $needs_escape)
        ) as escaped
    from picks
),

final as (
    select
        coalesce(bool_or(escaped), false) as needs_escape,
        '[' || coalesce(string_agg(pick_json, ',' order by stratum, rank), '') || ']' as picks
    from flagged
)

select * from final
