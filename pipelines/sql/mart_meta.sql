-- mart_meta: when the marts were computed, for which evaluation time and rule profile.
-- refs:
with

final as (
    select
        cast($as_of as timestamp) as as_of,
        $profile_name as profile,
        cast(current_timestamp as timestamp) as refreshed_at
)

select * from final
