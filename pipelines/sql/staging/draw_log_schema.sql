-- Verifiable draws (shared/RULES.md "Verifiable draws", ZZ-SPOTCHECK, TY-REVIEW).
-- draw_log is append-only and hash-chained: each record holds the previous record's hash and its
-- own (SHA-256 of the record's canonical JSON); `verify-log` re-checks the chain and the picks.
create table if not exists draw_log (
    record_no bigint primary key,         -- 1, 2, 3 … in chain order
    draw_id varchar not null unique,      -- e.g. SC-20261005-000002
    kind varchar not null,                -- population_frozen / spot_check / expert_draw /
                                          -- review_cases / review_experts / appeal_panel / replacement
    created_at timestamp not null,
    operator varchar,                     -- 操作人
    supervisor varchar,                   -- 监督人
    profile varchar,
    frozen_id varchar,                    -- a draw: the population_frozen record it draws from
    parent_id varchar,                    -- a replacement: the draw it amends
    parameters varchar not null,          -- JSON: rule, filter, strata, k per stratum, exclusions
    population_size bigint,
    population_digest varchar,            -- SHA-256 of the sorted ids, each + "\n"
    population varchar,                   -- JSON {"columns": [...], "rows": [...]} (frozen only)
    seed varchar,                         -- text, never a number
    picks varchar,                        -- JSON [{id, stratum, rank, key, hospital_id}]
    replacements varchar,                 -- JSON [{replaced, replacement, reason}]
    reason varchar,                       -- why a redraw / a replacement
    prev_hash varchar not null,
    record_hash varchar not null
);

-- A long list of a record (a province quarter's frozen cases, a spot check's picks) is kept apart,
-- as the one value (`text`) of a table of its own, `table_name` (draw_text_<record_no>_<column>),
-- and the record's column is null (pipelines/draws/log.py): draw_log's one row group, holding the
-- texts, would be rewritten whole at every later append. The record_hash covers the text's
-- SHA-256 (`sha256`; null in a log from before it was kept: then the text itself).
create table if not exists draw_log_texts (
    record_no bigint not null,            -- the draw_log record
    column_name varchar not null,         -- population / picks
    table_name varchar not null,
    items bigint not null,                -- members of the list / picks
    sha256 varchar                        -- SHA-256 (hex) of the UTF-8 text
);

-- ZZ-SPOTCHECK findings: append-only; the latest row per (draw, case) is the finding in force.
create sequence if not exists seq_spot_check_finding start 1;

create table if not exists spot_check_findings (
    finding_no bigint primary key,
    draw_id varchar not null,
    case_id varchar not null,
    result varchar not null,              -- 合格 / 不合格
    recover_yuan decimal(18, 2) not null, -- 追回金额
    note varchar,
    recorded_by varchar,
    recorded_at timestamp not null,
    source_file varchar,
    source_line bigint
);

create view if not exists spot_check_findings_latest as
select * exclude (rn)
from (
    select
        *,
        row_number() over (
            partition by draw_id, case_id order by recorded_at desc, finding_no desc
        ) as rn
    from spot_check_findings
)
where rn = 1;

-- ZZ-DISPUTE / ZZ-ACTION: supervisors' decisions are draw_log records too (kinds strike_decision,
-- outage, action_done; content in `parameters`), read by the rule models through these views.
-- The latest decision on a strike (by task id) is the one in force; earlier ones stay in the log.
create view if not exists strike_decisions_latest as
select * exclude (rn)
from (
    select
        json_extract_string(parameters, '$.task_id') as task_id,
        json_extract_string(parameters, '$.decision') as decision,   -- void / uphold
        reason,
        operator as decided_by,
        created_at as decided_at,
        draw_id as record_id,
        row_number() over (
            partition by json_extract_string(parameters, '$.task_id') order by record_no desc
        ) as rn
    from draw_log
    where kind = 'strike_decision'
)
where rn = 1;

create view if not exists outages as
select
    cast(json_extract_string(parameters, '$.from') as timestamp) as outage_from,
    cast(json_extract_string(parameters, '$.to') as timestamp) as outage_to,
    reason,
    operator as declared_by,
    draw_id as record_id
from draw_log
where kind = 'outage';

create view if not exists actions_done_latest as
select * exclude (rn)
from (
    select
        json_extract_string(parameters, '$.task_id') as task_id,
        json_extract_string(parameters, '$.action') as action,
        created_at as done_at,
        operator as done_by,
        reason as note,
        draw_id as record_id,
        row_number() over (
            partition by
                json_extract_string(parameters, '$.task_id'),
                json_extract_string(parameters, '$.action')
            order by record_no desc
        ) as rn
    from draw_log
    where kind = 'action_done'
)
where rn = 1;

-- TY-PENALTY: the sanctions the centre decided (kind sanction, pipelines/sanctions.py); valid_to
-- is the last day in force, empty for a revocation or a one-off measure (in force from its date).
create view if not exists sanctions_recorded as
select
    draw_id as sanction_id,
    json_extract_string(parameters, '$.subject_type') as subject_type,
    json_extract_string(parameters, '$.subject_id') as subject_id,
    json_extract_string(parameters, '$.measure') as measure,
    cast(json_extract_string(parameters, '$.valid_from') as date) as valid_from,
    cast(json_extract_string(parameters, '$.valid_to') as date) as valid_to,
    cast(json_extract_string(parameters, '$.amount_yuan') as decimal(18, 2)) as amount_yuan,
    operator as decided_by,
    reason,
    created_at as recorded_at
from draw_log
where kind = 'sanction';

-- TY-REVIEW appeals: the latest appeal panel finding per case (kind appeal_finding; `final` is
-- the panel's majority, 符合 / 不符合).
create view if not exists appeal_findings_latest as
select * exclude (rn)
from (
    select
        json_extract_string(parameters, '$.case_id') as case_id,
        json_extract_string(parameters, '$.panel_id') as panel_id,
        json_extract_string(parameters, '$.final') as final,
        operator as recorded_by,
        created_at as recorded_at,
        draw_id as record_id,
        row_number() over (
            partition by json_extract_string(parameters, '$.case_id') order by record_no desc
        ) as rn
    from draw_log
    where kind = 'appeal_finding'
)
where rn = 1;
