-- audit_zz_upload: ZZ-UPLOAD — a case's medical record file is at most upload_max_mb, and for a
-- discharge on or after pdf_from it is a PDF exported from the HIS (checked when the format is
-- recorded). One row per breach.
-- refs: fct_cases
with

cases as (
    select * from fct_cases
),

oversized as (
    select
        case_id,
        hospital_id,
        '病历文件大小' || record_size_mb || 'MB，超过' || $upload_max_mb || 'MB上限。' as detail
    from cases
    where record_size_mb > $upload_max_mb
),

wrong_format as (
    select
        case_id,
        hospital_id,
        '出院日期' || strftime(discharge_date, '%Y-%m-%d') || '在'
        || strftime($pdf_from, '%Y-%m-%d') || '及以后，病历须为' || $pdf_format || '，实际为'
        || record_format || '。' as detail
    from cases
    where discharge_date >= $pdf_from
        and record_format is not null
        and record_format <> $pdf_format
),

final as (
    select
        'ZZ-UPLOAD' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        detail
    from (
        select * from oversized
        union all
        select * from wrong_format
    )
)

select * from final
order by case_id, detail
