-- audit_zz_upload: ZZ-UPLOAD — a case's medical record file is at most upload_max_mb, and for a
-- discharge on or after pdf_from it is a PDF exported from the HIS (checked when the format is
-- recorded). One row per breaching case, naming every way it breaks the rule.
-- refs: fct_cases
-- by: case_id
-- reads: fct_cases(case_id, hospital_id, record_size_mb, discharge_date, record_format)
with

checked as (
    select
        case_id,
        hospital_id,
        concat_ws(
            '；',
            case
                when record_size_mb > $upload_max_mb
                    then '病历文件大小' || record_size_mb || 'MB，超过' || $upload_max_mb || 'MB上限'
            end,
            case
                when discharge_date >= $pdf_from and record_format <> $pdf_format
                    then '出院日期' || strftime(discharge_date, '%Y-%m-%d') || '在'
                    || strftime($pdf_from, '%Y-%m-%d') || '及以后，病历须为' || $pdf_format
                    || '，实际为' || record_format
            end
        ) as reasons
    from fct_cases
),

final as (
    select
        'ZZ-UPLOAD' as rule_id,
        case_id,
        cast(null as varchar) as task_id,
        cast(null as varchar) as expert_id,
        hospital_id,
        reasons || '。' as detail
    from checked
    where reasons <> ''
)

select * from final
order by case_id
