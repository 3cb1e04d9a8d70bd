# DigitalOcean: project, managed PostgreSQL 17 and Valkey 8 (reachable only from the apps), Spaces bucket for
# static assets (private; CloudFront reads it with a shared secret header).

resource "digitalocean_project" "this" {
  name        = var.project_name
  description = "Hybrid-cloud integration monitor (${var.environment})"
  purpose     = "Web Application"
  environment = var.environment == "production" ? "Production" : "Staging"
}

resource "digitalocean_database_cluster" "pg" {
  name       = "${var.project_name}-pg"
  engine     = "pg"
  version    = "17"
  size       = var.pg_size
  region     = var.do_region
  node_count = 1
  project_id = digitalocean_project.this.id
}

resource "digitalocean_database_db" "monitor" {
  cluster_id = digitalocean_database_cluster.pg.id
  name       = "monitor"
}

resource "digitalocean_database_user" "monitor" {
  cluster_id = digitalocean_database_cluster.pg.id
  name       = "monitor"
}

# The web's own role. DigitalOcean creates it with no rights on the database's tables; the worker, which owns
# them (it migrates as `monitor`), grants it reads and the web's few writes on every migration
# (DATABASE_WEB_ROLE, jobs/store/schema.py).
resource "digitalocean_database_user" "web" {
  cluster_id = digitalocean_database_cluster.pg.id
  name       = "monitor_web"
}

resource "digitalocean_database_cluster" "valkey" {
  name       = "${var.project_name}-valkey"
  engine     = "valkey"
  version    = "8"
  size       = var.valkey_size
  region     = var.do_region
  node_count = 1
  project_id = digitalocean_project.this.id
}

# The CA certificates that sign the clusters' server certificates (outputs pg_ca_certificate, valkey_ca_certificate).
data "digitalocean_database_ca" "pg" {
  cluster_id = digitalocean_database_cluster.pg.id
}

data "digitalocean_database_ca" "valkey" {
  cluster_id = digitalocean_database_cluster.valkey.id
}

# Trusted sources: only the App Platform apps, the main one and each extra location's (no IPs, no droplets).
locals {
  trusted_app_ids = concat([digitalocean_app.this.id], [for app in digitalocean_app.extra_location : app.id])
}

resource "digitalocean_database_firewall" "pg" {
  cluster_id = digitalocean_database_cluster.pg.id

  dynamic "rule" {
    for_each = local.trusted_app_ids
    content {
      type  = "app"
      value = rule.value
    }
  }
}

resource "digitalocean_database_firewall" "valkey" {
  cluster_id = digitalocean_database_cluster.valkey.id

  dynamic "rule" {
    for_each = local.trusted_app_ids
    content {
      type  = "app"
      value = rule.value
    }
  }
}

resource "digitalocean_spaces_bucket" "assets" {
  name   = "${var.project_name}-assets"
  region = var.do_region
  acl    = "private"

  versioning {
    enabled = true
  }
}

# CloudFront cannot sign requests to Spaces (OAC is for AWS S3 only), so it sends a secret Referer header
# and the bucket serves GetObject only with it. Objects stay private to everyone else.
resource "random_password" "cdn_origin_secret" {
  length  = 40
  special = false
}

resource "digitalocean_spaces_bucket_policy" "assets" {
  region = digitalocean_spaces_bucket.assets.region
  bucket = digitalocean_spaces_bucket.assets.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "CloudFrontOnly"
      Effect    = "Allow"
      Principal = "*"
      Action    = ["s3:GetObject"]
      Resource  = ["arn:aws:s3:::${digitalocean_spaces_bucket.assets.name}/assets/*"]
      Condition = { StringEquals = { "aws:Referer" = random_password.cdn_origin_secret.result } }
    }]
  })
}

resource "digitalocean_project_resources" "this" {
  project   = digitalocean_project.this.id
  resources = [digitalocean_spaces_bucket.assets.urn]
}

# DNS in DigitalOcean (optional): the dashboard name points at CloudFront.
resource "digitalocean_record" "site" {
  count  = var.dns_zone == "" ? 0 : 1
  domain = var.dns_zone
  type   = "CNAME"
  name   = trimsuffix(trimsuffix(var.domain_name, var.dns_zone), ".")
  value  = "${aws_cloudfront_distribution.this.domain_name}."
  ttl    = 300
}
