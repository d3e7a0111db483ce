-- The population column of a frozen record as log.population_json writes it, for a population
-- staged in DuckDB (view draw_population: id, stratum, hospital_id) whose text needs no JSON
-- escaping (draw_population_facts.sql tells): the rows [id, stratum, hospital_id] in id order.
with population as (
    select
        id,
        stratum,
        hospital_id
    from draw_population
),

final as (
    select
        '{"columns":["id","stratum","hospital_id"],"rows":['
        || coalesce(
            string_agg(
                -- one concat per row (a chain of || builds every intermediate string)
                concat(
                    '[',
                    case when id is null then 'null' else concat('"', id, '"') end,
                    ',',
                    case when stratum is null then 'null' else concat('"', stratum, '"') end,
                    ',',
                    case when hospital_id is null then 'null' else concat('"', hospital_id, '"') end,
                    ']'
                ),
                ',' order by id
            ),
            ''
        )
        || ']}' as population
    from population
)

select * from final
