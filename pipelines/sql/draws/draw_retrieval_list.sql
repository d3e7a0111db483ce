-- ZZ-SPOTCHECK retrieval list (调阅清单): the drawn cases of one draw with what the inspectors
-- need to fetch the files, and empty columns for the findings. No personal data (no name, no ID
-- number). Input view draw_picks(case_id, hospital_id, rank); $district keeps one district's
-- hospitals (null: the city).
with picks as (
    select
        case_id,
        hospital_id,
        rank
    from draw_picks
),

cases as (
    select
        case_id,
        disease_name,
        decided_at
    from stg_cases
),

hospitals as (
    select
        hospital_id,
        hospital_name,
        district
    from stg_hospitals
),

final as (
    select
        picks.case_id as 申报编号,
        picks.hospital_id as 医院编码,
        hospitals.hospital_name as 医院名称,
        picks.rank as 院内序号,
        cases.disease_name as 病种名称,
        strftime(cases.decided_at, '%Y-%m-%d %H:%M:%S') as 办结时间,
        cast(null as varchar) as 抽查结论,
        cast(null as varchar) as 追回金额,
        cast(null as varchar) as 备注
    from picks
    left join cases on picks.case_id = cases.case_id
    left join hospitals on picks.hospital_id = hospitals.hospital_id
    where $district is null or hospitals.district = $district
)

select * from final
order by 医院编码, 院内序号
