output "url" {
  description = "HTTPS URL of the function."
  value       = google_cloudfunctions2_function.fn.service_config[0].uri
}

output "service_account_email" {
  description = "The function's own service account."
  value       = google_service_account.fn.email
}
