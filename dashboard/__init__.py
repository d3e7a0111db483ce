"""门诊慢特病鉴定监管看板 — the Streamlit dashboard (thin pages over pipelines/)."""
