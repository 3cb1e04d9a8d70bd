variable "project_name" {
  description = "Name prefix for every resource (lowercase letters, digits and hyphens)."
  type        = string
  default     = "hybrid-monitor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.project_name))
    error_message = "project_name: 4-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment environment label shown by the app (APP_ENVIRONMENT)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,31}$", var.environment))
    error_message = "environment: 2-32 lowercase letters, digits or hyphens."
  }
}

variable "do_region" {
  description = "DigitalOcean datacenter region for the databases and the Spaces bucket (e.g. fra1)."
  type        = string
  default     = "fra1"

  validation {
    condition     = contains(["ams3", "blr1", "fra1", "lon1", "nyc1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1", "atl1"], var.do_region)
    error_message = "do_region: one of ams3, blr1, fra1, lon1, nyc1, nyc3, sfo2, sfo3, sgp1, syd1, tor1, atl1."
  }
}

variable "app_region" {
  description = "App Platform region slug; keep it next to do_region (fra for fra1)."
  type        = string
  default     = "fra"

  validation {
    condition     = contains(local.app_platform_regions, var.app_region)
    error_message = "app_region: one of atl, nyc, sfo, tor, ams, fra, lon, blr, sgp, syd."
  }
}

variable "aws_region" {
  description = "AWS region of Roles Anywhere, IAM role use and the Secrets Manager secret."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region: an AWS region such as eu-central-1."
  }
}

variable "domain_name" {
  description = "Public host name of the dashboard, served by CloudFront (e.g. monitor.example.com)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name: a lowercase DNS name such as monitor.example.com."
  }
}

variable "dns_zone" {
  description = "DigitalOcean DNS zone that holds domain_name; empty = you create the ACM validation and CNAME records yourself (see outputs)."
  type        = string
  default     = ""

  validation {
    condition     = var.dns_zone == "" || can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.dns_zone))
    error_message = "dns_zone: empty, or a DNS zone such as example.com."
  }
}

variable "github_repo" {
  description = "GitHub repository App Platform builds from, as owner/name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repo))
    error_message = "github_repo: owner/name."
  }
}

variable "github_branch" {
  description = "Branch App Platform deploys (on every push)."
  type        = string
  default     = "main"
}

variable "probe_location" {
  description = "Label stored with every probe result (PROBE_LOCATION)."
  type        = string
  default     = "do-fra1"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.probe_location))
    error_message = "probe_location: 1-64 letters, digits, '.', '_' or '-'."
  }
}

variable "extra_probe_locations" {
  description = "More probing locations, each a worker-only App Platform app in a region of its own (DEPLOY.md, \"Probing from more regions\"): name, its PROBE_LOCATION, and region, an App Platform region slug. Empty: probe_location alone."
  type = list(object({
    name   = string
    region = string
  }))
  default = []

  validation {
    condition     = alltrue([for location in var.extra_probe_locations : can(regex("^[A-Za-z0-9_.-]{1,64}$", location.name))])
    error_message = "extra_probe_locations: each name 1-64 letters, digits, '.', '_' or '-'."
  }

  validation {
    condition     = length(distinct(concat([var.probe_location], var.extra_probe_locations[*].name))) == length(var.extra_probe_locations) + 1
    error_message = "extra_probe_locations: each name once, and none the same as probe_location."
  }

  validation {
    condition     = alltrue([for location in var.extra_probe_locations : contains(local.app_platform_regions, location.region)])
    error_message = "extra_probe_locations: each region one of atl, nyc, sfo, tor, ams, fra, lon, blr, sgp, syd."
  }

  # Each extra app is named <project_name>-<region>: App Platform allows 32 characters and one app of a name.
  validation {
    condition     = length(distinct(var.extra_probe_locations[*].region)) == length(var.extra_probe_locations) && (length(var.extra_probe_locations) == 0 || length(var.project_name) <= 28)
    error_message = "extra_probe_locations: one location per region, and project_name at most 28 characters (each app is named <project_name>-<region>)."
  }
}

variable "pg_size" {
  description = "Managed PostgreSQL node size slug."
  type        = string
  default     = "db-s-1vcpu-1gb"
}

variable "valkey_size" {
  description = "Managed Valkey node size slug."
  type        = string
  default     = "db-s-1vcpu-1gb"
}

variable "web_instance_count" {
  description = "Number of web instances (2 or more for rolling deploys without downtime)."
  type        = number
  default     = 2

  validation {
    condition     = var.web_instance_count >= 1 && var.web_instance_count <= 10
    error_message = "web_instance_count: 1 to 10."
  }
}

variable "ca_certificate_pem" {
  description = "Your own CA certificate (PEM) for the Roles Anywhere trust anchor. Empty = a demo CA made by the tls provider."
  type        = string
  default     = ""

  validation {
    condition     = var.ca_certificate_pem == "" || can(regex("-----BEGIN CERTIFICATE-----", var.ca_certificate_pem))
    error_message = "ca_certificate_pem: empty, or a PEM certificate."
  }
}

variable "client_certificate_pem" {
  description = "With your own CA: the client certificate (PEM) it issued to the worker. Ignored with the demo CA."
  type        = string
  default     = ""
}

variable "client_private_key_pem" {
  description = "With your own CA: the client certificate's private key (PEM). Ignored with the demo CA."
  type        = string
  default     = ""
  sensitive   = true
}

variable "client_common_name" {
  description = "Subject CN of the client certificate; the IAM role trusts only this CN."
  type        = string
  default     = "hybrid-monitor-worker"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.client_common_name))
    error_message = "client_common_name: 1-64 letters, digits, '.', '_' or '-'."
  }
}

variable "client_cert_validity_hours" {
  description = "Validity of the demo client certificate; rotate before it ends (see DEPLOY.md)."
  type        = number
  default     = 2160

  validation {
    condition     = var.client_cert_validity_hours >= 24 && var.client_cert_validity_hours <= var.demo_ca_validity_hours
    error_message = "client_cert_validity_hours: 24 to demo_ca_validity_hours (a certificate never outlives its CA)."
  }
}

variable "demo_ca_validity_hours" {
  description = "Validity of the demo CA (no own CA given); renewed, with the client certificate, by an apply in its last 30 days."
  type        = number
  default     = 2160

  validation {
    condition     = var.demo_ca_validity_hours >= 720 && var.demo_ca_validity_hours <= 2160
    error_message = "demo_ca_validity_hours: 720 to 2160 (30 to 90 days)."
  }
}

variable "secrets_manager_write_check" {
  description = "Also probe PutSecretValue (grants the role that one extra permission on the probe secret)."
  type        = bool
  default     = false
}

variable "oidc_issuer" {
  description = "OpenID Connect issuer the operators sign in with (https://accounts.google.com for Google Workspace)."
  type        = string
  default     = "https://accounts.google.com"

  validation {
    condition     = startswith(var.oidc_issuer, "https://")
    error_message = "oidc_issuer: an https:// URL."
  }
}

variable "oidc_client_id" {
  description = "Client id of the OAuth client registered at the provider (redirect URI https://<domain_name>/oidc/callback)."
  type        = string
  default     = ""
}

variable "oidc_client_secret" {
  description = "Client secret of that OAuth client."
  type        = string
  default     = ""
  sensitive   = true
}

variable "auth_allowed_emails" {
  description = "E-mail addresses (comma-separated) allowed to sign in."
  type        = string
  default     = ""
}

variable "auth_allowed_domains" {
  description = "E-mail domains (comma-separated) whose addresses may sign in, e.g. your Workspace domain."
  type        = string
  default     = ""
}

variable "auth_allowed_groups" {
  description = "Groups (comma-separated) of the provider's groups claim allowed to sign in; empty: not checked."
  type        = string
  default     = ""
}

variable "api_token" {
  description = "Bearer token for scripts reading /api/*; empty: only signed-in browsers. At least 20 characters."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.api_token == "" || length(var.api_token) >= 20
    error_message = "api_token: empty or at least 20 characters."
  }
}

variable "metrics_token" {
  description = "Bearer token Prometheus sends for /metrics; empty: only signed-in browsers. At least 20 characters."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.metrics_token == "" || length(var.metrics_token) >= 20
    error_message = "metrics_token: empty or at least 20 characters."
  }
}

variable "rq_dashboard_username" {
  description = "Only with AUTH_MODE=none: user name for /rq (the RQ dashboard); empty with an empty password = /rq off."
  type        = string
  default     = ""
}

variable "rq_dashboard_password" {
  description = "Password for /rq; at least 16 characters when set."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.rq_dashboard_password == "" || length(var.rq_dashboard_password) >= 16
    error_message = "rq_dashboard_password: empty (dashboard off) or at least 16 characters."
  }
}

variable "alert_urls" {
  description = "Apprise URLs (space- or comma-separated) that incident notifications go to; empty: incidents are recorded, nobody is told."
  type        = string
  default     = ""
  sensitive   = true
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes from one IP before the WAF blocks it."
  type        = number
  default     = 1000

  validation {
    condition     = var.waf_rate_limit >= 100 && var.waf_rate_limit <= 2000000000
    error_message = "waf_rate_limit: 100 to 2000000000 requests per 5 minutes."
  }
}

variable "edge_log_retention_days" {
  description = "Days the WAF's and CloudFront's logs are kept in CloudWatch Logs (us-east-1)."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.edge_log_retention_days)
    error_message = "edge_log_retention_days: one of CloudWatch Logs' retention periods of a year or more (365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}
