output "dashboard_url" {
  description = "The dashboard through CloudFront."
  value       = "https://${var.domain_name}/"
}

output "app_default_url" {
  description = "App Platform's own URL (CloudFront's origin)."
  value       = digitalocean_app.this.default_ingress
}

output "app_id" {
  description = "App Platform app id, for `doctl apps ...`."
  value       = digitalocean_app.this.id
}

output "extra_location_app_ids" {
  description = "Each extra probing location's worker-only app id, by location (`doctl apps logs <id> worker`)."
  value       = { for location, app in digitalocean_app.extra_location : location => app.id }
}

output "probe_locations" {
  description = "Every probing location, the main app's first (PROBE_LOCATIONS of every app)."
  value       = join(",", local.probe_locations)
}

output "origin_secret" {
  description = "The X-Origin-Verify value CloudFront sends and the web requires (ORIGIN_SECRET; app.yaml deployments)."
  value       = random_password.origin_secret.result
  sensitive   = true
}

output "cloudfront_domain" {
  description = "Point domain_name's CNAME here when DNS is not in DigitalOcean."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "acm_validation_records" {
  description = "DNS records that validate the certificate (create them yourself when dns_zone is empty)."
  value       = local.acm_validation
}

output "spaces_bucket" {
  description = "Spaces bucket for `python -m dashapp publish-assets` (SPACES_BUCKET)."
  value       = digitalocean_spaces_bucket.assets.name
}

output "spaces_endpoint" {
  description = "S3 endpoint of the bucket's region (AWS_ENDPOINT_URL_S3 for publish-assets)."
  value       = "https://${var.do_region}.digitaloceanspaces.com"
}

output "trust_anchor_arn" {
  description = "IAM_TRUST_ANCHOR_ARN"
  value       = aws_rolesanywhere_trust_anchor.this.arn
}

output "profile_arn" {
  description = "IAM_PROFILE_ARN"
  value       = aws_rolesanywhere_profile.this.arn
}

output "role_arn" {
  description = "IAM_ROLE_ARN"
  value       = aws_iam_role.probe.arn
}

output "secret_name" {
  description = "SECRETS_MANAGER_SECRET_NAME"
  value       = aws_secretsmanager_secret.probe.name
}

output "client_certificate_pem" {
  description = "The worker's client certificate (public); check its expiry when rotating."
  value       = local.client_certificate_pem
}

output "client_certificate_not_after" {
  description = "When the demo client certificate expires (empty with your own CA)."
  value       = local.own_ca ? "" : tls_locally_signed_cert.client[0].validity_end_time
}

output "demo_ca_not_after" {
  description = "When the demo CA expires (empty with your own CA); an apply in its last 30 days renews it."
  value       = local.own_ca ? "" : tls_self_signed_cert.demo_ca[0].validity_end_time
}

# The web's DATABASE_URL (its own role), for a deployment made with doctl and app.yaml.
output "web_database_url" {
  description = "PostgreSQL URL of the web's own role (monitor_web)."
  value       = local.web_database_url
  sensitive   = true
}

# The app gets the CAs through App Platform's bindable ${pg.CA_CERT} / ${valkey.CA_CERT}; these are the same
# certificates, for an operator who connects from a shell (psql "sslmode=verify-full sslrootcert=...").
output "pg_ca_certificate" {
  description = "CA certificate (PEM) of the PostgreSQL cluster."
  value       = data.digitalocean_database_ca.pg.certificate
}

output "valkey_ca_certificate" {
  description = "CA certificate (PEM) of the Valkey cluster."
  value       = data.digitalocean_database_ca.valkey.certificate
}
