-- ZZ-SPOTCHECK coverage of one spot check per hospital: approved cases in the frozen frame, the k
-- fixed at freezing, the cases drawn (as the draw stands; a replacement stays in its hospital)
-- and whether drawn ≥ rate × approved, in exact decimals. Inputs: draw_frame(hospital_id,
-- frame_n, k), draw_picks(hospital_id) (empty before the seed); $rate the rate every hospital
-- must reach; $district keeps one district's hospitals (null: the city).
with frame as (
    select
        hospital_id,
        frame_n,
        k
    from draw_frame
),

drawn as (
    select
        hospital_id,
        count(*) as drawn_n
    from draw_picks
    group by hospital_id
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
        frame.hospital_id,
        hospitals.hospital_name,
        frame.frame_n,
        frame.k,
        coalesce(drawn.drawn_n, 0) as drawn_n,
        coalesce(drawn.drawn_n, 0) / frame.frame_n as share,
        coalesce(drawn.drawn_n, 0) >= cast($rate as decimal(38, 18)) * frame.frame_n as meets
    from frame
    left join drawn on frame.hospital_id = drawn.hospital_id
    left join hospitals on frame.hospital_id = hospitals.hospital_id
    where $district is null or hospitals.district = $district
)

select * from final
order by hospital_id
