-- Warehouse schema: typed staging tables (stg_*), quarantine, load log, reference data.
-- Staging holds only rows that passed every DATA-REJECT check; the rest are in quarantine.
-- Keys are unique by construction (ingest dedups and upserts); no index is kept on them
-- because an ART primary key makes bulk loads an order of magnitude slower.
create table if not exists ref_diseases (
    disease_name varchar primary key,
    row_no integer,
    specialty varchar not null,
    settlement varchar not null          -- 即时办结 / 集中办结 (ZZ-BENEFIT)
);

create table if not exists ref_disease_aliases (
    alias_key varchar primary key,        -- NFKC-folded, spaces removed
    disease_name varchar not null
);

create table if not exists stg_hospitals (
    hospital_id varchar not null,
    hospital_name varchar not null,
    hospital_class varchar,               -- 一类 / 二类 / 三类
    ownership varchar,                    -- 公立 / 民营
    district varchar,
    group_id varchar,                     -- main campus's hospital_id (ZZ-AVOID); null = itself
    load_id integer
);

create table if not exists stg_experts (
    expert_id varchar not null,
    expert_name varchar,
    hospital_id varchar not null,
    specialty varchar not null,
    title varchar not null,               -- 主任医师 / 副主任医师 / 主治医师 / 住院医师
    registered_on date not null,
    disqualified_on date,
    phone varchar,                        -- PII, masked unless the role allows
    load_id integer
);

create table if not exists stg_cases (
    case_id varchar not null,
    person_id varchar not null,
    person_name varchar,
    insurance_type varchar,
    disease_name varchar not null,        -- canonical catalogue name
    hospital_id varchar not null,
    submitted_at timestamp not null,
    record_id varchar,
    record_format varchar,
    record_size_mb double,
    discharge_date date,
    outcome varchar,                      -- 符合 / 不符合 / null while pending
    decided_at timestamp,
    benefit_start date,
    load_id integer,
    category varchar,                     -- Taiyuan: 定额 / 非定额
    publicity_from date,                  -- Taiyuan: TY-PUBLICITY
    publicity_to date,
    entered_at timestamp                  -- Taiyuan: TY-ENTRY, TY-CYCLE
);

create table if not exists stg_tasks (
    task_id varchar not null,
    case_id varchar not null,
    expert_id varchar not null,
    pushed_at timestamp not null,
    responded_at timestamp,
    response varchar,                     -- 受理 / 不受理 / null
    completed_at timestamp,
    verdict varchar,                      -- 符合 / 不符合 / null
    load_id integer
);

-- Taiyuan: one row per panel member per case (TY-PANEL); key (case_id, expert_id)
create table if not exists stg_panel_opinions (
    case_id varchar not null,
    expert_id varchar not null,
    opinion varchar not null,             -- 符合 / 不符合
    signed_at timestamp not null,
    load_id integer
);

-- Taiyuan: re-certification requests (TY-RECERT)
create table if not exists stg_recerts (
    recert_id varchar not null,
    case_id varchar not null,
    requested_at timestamp not null,
    completed_at timestamp,
    outcome varchar,                      -- 符合 / 不符合 / null while open
    load_id integer
);

create sequence if not exists seq_load_id start 1;

create table if not exists load_log (
    load_id integer,
    file_name varchar,
    file_sha256 varchar,
    table_name varchar,
    rows_read bigint,
    rows_accepted bigint,
    rows_quarantined bigint,
    rows_new bigint,
    rows_updated bigint,
    loaded_at timestamp,
    loaded_by varchar,
    data_cutoff timestamp                 -- DATA-CUTOFF: the load's cut-off (given or derived)
);

-- warehouses made before these columns existed get them (DATA-CUTOFF, ZZ-AVOID, phones)
alter table load_log add column if not exists data_cutoff timestamp;
alter table stg_hospitals add column if not exists group_id varchar;
alter table stg_experts add column if not exists phone varchar;
alter table stg_cases add column if not exists category varchar;
alter table stg_cases add column if not exists publicity_from date;
alter table stg_cases add column if not exists publicity_to date;
alter table stg_cases add column if not exists entered_at timestamp;

create table if not exists quarantine (
    load_id integer,
    file_name varchar,
    table_name varchar,
    line bigint,
    column_name varchar,
    reason_zh varchar,
    reason_en varchar,
    raw varchar,                          -- the row as read, JSON
    quarantined_at timestamp
);

create table if not exists data_warnings (
    load_id integer,
    file_name varchar,
    table_name varchar,
    line bigint,
    column_name varchar,
    warning_zh varchar,
    warning_en varchar,
    record_key varchar
);
