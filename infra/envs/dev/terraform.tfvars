project_id             = "siyu-dev-000000"
source_bucket          = "siyu-dev-000000-functions"
wecom_corp_id          = "ww0000000000000000"
callback_min_instances = 0
