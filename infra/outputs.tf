output "egress_ip" {
  description = "Static egress IP to enter as 企业可信IP in the WeCom admin console."
  value       = google_compute_address.egress.address
}

output "gateway_url" {
  description = "Public base URL: register https://<this>/wecom/callback as WeCom's callback URL; partners post to /card-alert and /events."
  value       = var.deploy_functions ? "https://${google_api_gateway_gateway.siyu[0].default_hostname}" : null
}

output "function_urls" {
  description = "Direct URL of every function (invocable only by the gateway or its push identity)."
  value       = { for name, fn in module.function : name => fn.url }
}
