env                      = "prod"
project_id               = "siyu-prod-000000"
region                   = "asia-east2"
source_bucket            = "siyu-prod-000000-functions"
wecom_corp_id            = "ww0000000000000000"
ops_audience             = "000000000000-prod.apps.googleusercontent.com"
callback_min_instances   = 1
card_alert_min_instances = 1
