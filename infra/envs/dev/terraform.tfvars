env                      = "dev"
project_id               = "siyu-dev-000000"
region                   = "asia-east2"
source_bucket            = "siyu-dev-000000-functions"
wecom_corp_id            = "ww0000000000000000"
ops_audience             = "000000000000-dev.apps.googleusercontent.com"
callback_min_instances   = 0
card_alert_min_instances = 0
