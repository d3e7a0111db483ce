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
        concat(
            '{"columns":["id","stratum","hospital_id"],"rows":[',
            string_agg(
                -- one concat per row (a chain of || builds every intermediate string); with no
                -- null stratum or hospital ($nulls false, as draw_population_facts.sql tells: ids
                -- are never null here) the plain form, which skips three tests a row
                case
                    when $nulls
                        then concat(
                            '[',
                            case when id is null then 'null' else concat('"', id, '"') end,
                            ',',
                            case when stratum is null then 'null' else concat('"', stratum, '"') end,
                            ',',
                            case
                                when hospital_id is null then 'null'
                                else concat('"', hospital_id, '"')
                            end,
                            ']'
                        )
                    else concat('["', id, '","', stratum, '","', hospital_id, '"]')
                end,
                ',' order by id
            ),
            ']}'
        ) as population
    from population
)

select * from final
