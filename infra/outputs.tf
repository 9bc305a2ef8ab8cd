output "egress_ip" {
  description = "Static egress IP to enter as 企业可信IP in the WeCom admin console."
  value       = google_compute_address.egress.address
}

output "function_urls" {
  description = "HTTPS URL of every HTTP function (register wecom_callback's as the callback URL)."
  value       = { for name, fn in module.function : name => fn.url }
}
