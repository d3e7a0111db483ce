-- mart_meta: when the marts were computed, for which evaluation time (as_of: facts judged at,
-- never after the data cut-off; eval_at: the time asked for; data_cutoff: DATA-CUTOFF) and rule profile, and what
-- they were computed from — the rule settings and SQL (rules_version), the last load
-- (last_load_id), the staging tables' row counts and load ids (source_state) and the working-day
-- calendar (calendar_fingerprint) — with the marts built (marts). The rule functions read the
-- marts instead of recomputing only while all of these are unchanged.
-- refs:
with

final as (
    select
        cast($as_of as timestamp) as as_of,
        cast($eval_at as timestamp) as eval_at,
        cast($data_cutoff as timestamp) as data_cutoff,
        $profile_name as profile,
        cast(current_timestamp as timestamp) as refreshed_at,
        cast($rules_version as varchar) as rules_version,
        cast($last_load_id as integer) as last_load_id,
        cast($source_state as varchar) as source_state,
        cast($calendar_fingerprint as varchar) as calendar_fingerprint,
        cast($marts as varchar []) as marts
)

select * from final
