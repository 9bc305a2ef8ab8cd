env                      = "prod"
project_id               = "siyu-prod-000000"
region                   = "asia-east2"
gateway_region           = "asia-northeast1"
source_bucket            = "siyu-prod-000000-functions"
wecom_corp_id            = "ww0000000000000000"
wecom_agent_id           = 1000002
ops_audience             = "000000000000-prod.apps.googleusercontent.com"
first_admin              = "ops_admin"
callback_min_instances   = 1
card_alert_min_instances = 1
# First apply of a new environment: false (secrets, topics, Firestore, IAM, network). Add a
# version to every secret (README, Deploy), then set true and apply again.
deploy_functions = false
# Alerts notify these channels; create one in the console (Monitoring → Alerting → Edit
# notification channels) and list it, e.g. ["projects/<project>/notificationChannels/<id>"].
notification_channels = []
