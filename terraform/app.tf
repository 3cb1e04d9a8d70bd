# The App Platform app: the same components and variable names as ../app.yaml (kept in step by
# tests/test_deploy_consistency.py), wired to the clusters above and the AWS resources; and a worker-only app
# per extra probing location (locations.tf), with the main app's worker and variables.

locals {
  # Every component of every app; each app adds its own PROBE_LOCATION.
  shared_envs = [
    # The clusters' CA certificates as App Platform binds them (the same PEM as data.digitalocean_database_ca):
    # PostgreSQL verify-full, Valkey's certificate and host name checked.
    { key = "DATABASE_CA_CERT", value = "$${pg.CA_CERT}", type = "GENERAL" },
    { key = "PGSSLMODE", value = "verify-full", type = "GENERAL" },
    { key = "VALKEY_URL", value = "$${valkey.DATABASE_URL}", type = "GENERAL" },
    { key = "VALKEY_CA_CERT", value = "$${valkey.CA_CERT}", type = "GENERAL" },
    { key = "APP_ENVIRONMENT", value = var.environment, type = "GENERAL" },
    # The scheduler enqueues a cycle per location; each location's worker takes its own.
    { key = "PROBE_LOCATIONS", value = join(",", local.probe_locations), type = "GENERAL" },
    { key = "LOG_LEVEL", value = "INFO", type = "GENERAL" },
  ]
  web_envs = [
    # The web's own PostgreSQL role: it reads, and writes only its audit log and the monitor's own incident.
    { key = "DATABASE_URL", value = local.web_database_url, type = "SECRET" },
    { key = "PORT", value = "8080", type = "GENERAL" },
    { key = "ASSETS_BASE_URL", value = "https://${var.domain_name}/", type = "GENERAL" },
    # Operators sign in with OpenID Connect (DEPLOY.md, "Sign-in with Google Workspace").
    { key = "AUTH_MODE", value = "oidc", type = "GENERAL" },
    # CloudFront's address: the app sees App Platform's host, so the OIDC redirect URI is built from this.
    { key = "PUBLIC_URL", value = "https://${var.domain_name}", type = "GENERAL" },
    { key = "SESSION_SECRET", value = random_password.session_secret.result, type = "SECRET" },
    # CloudFront's origin header (aws_edge.tf): only requests through CloudFront are served.
    { key = "ORIGIN_SECRET", value = random_password.origin_secret.result, type = "SECRET" },
    # CloudFront appends the viewer's address to X-Forwarded-For, App Platform's ingress CloudFront's (DEPLOY.md).
    { key = "TRUSTED_PROXY_HOPS", value = "2", type = "GENERAL" },
    { key = "OIDC_ISSUER", value = var.oidc_issuer, type = "GENERAL" },
    { key = "OIDC_CLIENT_ID", value = var.oidc_client_id, type = "GENERAL" },
    { key = "OIDC_CLIENT_SECRET", value = var.oidc_client_secret, type = "SECRET" },
    { key = "AUTH_ALLOWED_EMAILS", value = var.auth_allowed_emails, type = "GENERAL" },
    { key = "AUTH_ALLOWED_DOMAINS", value = var.auth_allowed_domains, type = "GENERAL" },
    { key = "AUTH_ALLOWED_GROUPS", value = var.auth_allowed_groups, type = "GENERAL" },
    { key = "API_TOKEN", value = var.api_token, type = "SECRET" },
    { key = "METRICS_TOKEN", value = var.metrics_token, type = "SECRET" },
    # Only with AUTH_MODE=none: /rq's own basic auth. With sign-in, /rq is behind it.
    { key = "RQ_DASHBOARD_USERNAME", value = var.rq_dashboard_username, type = "GENERAL" },
    { key = "RQ_DASHBOARD_PASSWORD", value = var.rq_dashboard_password, type = "SECRET" },
    # The board says when alerting is off (the web sends nothing).
    { key = "ALERT_URLS", value = var.alert_urls, type = "SECRET" },
  ]
  # Only the worker runs probes, so only it holds the certificate and key.
  worker_envs = [
    # The owner of the schema: the worker migrates, and grants the web's role its rights each time.
    { key = "DATABASE_URL", value = "$${pg.DATABASE_URL}", type = "GENERAL" },
    { key = "DATABASE_WEB_ROLE", value = digitalocean_database_user.web.name, type = "GENERAL" },
    { key = "AWS_REGION", value = var.aws_region, type = "GENERAL" },
    { key = "IAM_TRUST_ANCHOR_ARN", value = aws_rolesanywhere_trust_anchor.this.arn, type = "GENERAL" },
    { key = "IAM_PROFILE_ARN", value = aws_rolesanywhere_profile.this.arn, type = "GENERAL" },
    { key = "IAM_ROLE_ARN", value = aws_iam_role.probe.arn, type = "GENERAL" },
    { key = "SECRETS_MANAGER_SECRET_NAME", value = aws_secretsmanager_secret.probe.name, type = "GENERAL" },
    { key = "SECRETS_MANAGER_WRITE", value = tostring(var.secrets_manager_write_check), type = "GENERAL" },
    { key = "IAM_CLIENT_CERT", value = base64encode(local.client_certificate_pem), type = "SECRET" },
    { key = "IAM_CLIENT_KEY", value = base64encode(local.client_private_key_pem), type = "SECRET" },
    { key = "ALERT_URLS", value = var.alert_urls, type = "SECRET" },
  ]
  web_database_url = format(
    "postgresql://%s:%s@%s:%d/%s?sslmode=require",
    digitalocean_database_user.web.name,
    urlencode(digitalocean_database_user.web.password),
    digitalocean_database_cluster.pg.host,
    digitalocean_database_cluster.pg.port,
    digitalocean_database_db.monitor.name,
  )
  # The clusters every app attaches: their bindable variables ($${pg.DATABASE_URL}, ...) fill the envs above.
  app_databases = [
    {
      name         = "pg"
      engine       = "PG"
      version      = "17"
      cluster_name = digitalocean_database_cluster.pg.name
      db_name      = digitalocean_database_db.monitor.name
      db_user      = digitalocean_database_user.monitor.name
    },
    {
      name         = "valkey"
      engine       = "VALKEY"
      version      = "8"
      cluster_name = digitalocean_database_cluster.valkey.name
      db_name      = null
      db_user      = null
    },
  ]
  # The Procfile's commands (tests/test_deploy_consistency.py checks they match).
  procfile = {
    worker    = "python -m jobs.supervise rq worker --config jobs.rq_config --worker-class jobs.worker.ProbeWorker probes"
    scheduler = "python -m jobs.supervise rq cron --config jobs.rq_config jobs.schedule"
  }
}

# Signs the operators' session cookies; changing it signs everyone out.
resource "random_password" "session_secret" {
  length  = 48
  special = false
}

# The header value CloudFront sends to App Platform and the app requires; changing it needs both updated.
resource "random_password" "origin_secret" {
  length  = 48
  special = false
}

resource "digitalocean_app" "this" {
  project_id = digitalocean_project.this.id

  spec {
    name   = var.project_name
    region = var.app_region

    alert {
      rule = "DEPLOYMENT_FAILED"
    }

    alert {
      rule = "DOMAIN_FAILED"
    }

    dynamic "env" {
      for_each = local.shared_envs
      content {
        key   = env.value.key
        value = env.value.value
        type  = env.value.type
        scope = "RUN_TIME"
      }
    }

    env {
      key   = "PROBE_LOCATION"
      value = var.probe_location
      type  = "GENERAL"
      scope = "RUN_TIME"
    }

    service {
      name               = "web"
      dockerfile_path    = "Dockerfile"
      http_port          = 8080
      instance_count     = var.web_instance_count
      instance_size_slug = "apps-s-1vcpu-1gb"

      github {
        repo           = var.github_repo
        branch         = var.github_branch
        deploy_on_push = true
      }

      health_check {
        http_path             = "/healthz"
        initial_delay_seconds = 10
        period_seconds        = 10
        timeout_seconds       = 5
        failure_threshold     = 3
      }

      dynamic "env" {
        for_each = local.web_envs
        content {
          key   = env.value.key
          value = env.value.value
          type  = env.value.type
          scope = "RUN_TIME"
        }
      }
    }

    worker {
      name               = "worker"
      dockerfile_path    = "Dockerfile"
      run_command        = local.procfile.worker
      instance_count     = 1
      instance_size_slug = "apps-s-1vcpu-1gb"

      github {
        repo           = var.github_repo
        branch         = var.github_branch
        deploy_on_push = true
      }

      dynamic "env" {
        for_each = local.worker_envs
        content {
          key   = env.value.key
          value = env.value.value
          type  = env.value.type
          scope = "RUN_TIME"
        }
      }
    }

    # Enqueues every location's cycles (PROBE_LOCATIONS). A second scheduler is harmless (a duplicate cycle of a
    # slot stores nothing) but adds nothing.
    worker {
      name               = "scheduler"
      dockerfile_path    = "Dockerfile"
      run_command        = local.procfile.scheduler
      instance_count     = 1
      instance_size_slug = "apps-s-1vcpu-0.5gb"

      github {
        repo           = var.github_repo
        branch         = var.github_branch
        deploy_on_push = true
      }
    }

    dynamic "database" {
      for_each = local.app_databases
      content {
        name         = database.value.name
        engine       = database.value.engine
        version      = database.value.version
        production   = true
        cluster_name = database.value.cluster_name
        db_name      = database.value.db_name
        db_user      = database.value.db_user
      }
    }

    ingress {
      rule {
        component {
          name = "web"
        }
        match {
          path {
            prefix = "/"
          }
        }
      }
    }
  }
}

# An extra probing location: the main app's worker (same repository, Dockerfile and command, so the same image)
# in another region, with PROBE_LOCATION its own. It reaches the clusters over TLS as the main app does, through
# the same bound variables, and is one of their trusted sources (digitalocean.tf).
resource "digitalocean_app" "extra_location" {
  for_each   = local.extra_probe_apps
  project_id = digitalocean_project.this.id

  spec {
    name   = each.value.app_name
    region = each.value.region

    alert {
      rule = "DEPLOYMENT_FAILED"
    }

    dynamic "env" {
      for_each = local.shared_envs
      content {
        key   = env.value.key
        value = env.value.value
        type  = env.value.type
        scope = "RUN_TIME"
      }
    }

    env {
      key   = "PROBE_LOCATION"
      value = each.key
      type  = "GENERAL"
      scope = "RUN_TIME"
    }

    worker {
      name               = "worker"
      dockerfile_path    = "Dockerfile"
      run_command        = local.procfile.worker
      instance_count     = 1
      instance_size_slug = "apps-s-1vcpu-1gb"

      github {
        repo           = var.github_repo
        branch         = var.github_branch
        deploy_on_push = true
      }

      dynamic "env" {
        for_each = local.worker_envs
        content {
          key   = env.value.key
          value = env.value.value
          type  = env.value.type
          scope = "RUN_TIME"
        }
      }
    }

    # No scheduler: the main app's enqueues this location's cycles too (PROBE_LOCATIONS). One here would only add
    # duplicate cycles (they store nothing), and keep nothing going without the main region, where the clusters are.

    dynamic "database" {
      for_each = local.app_databases
      content {
        name         = database.value.name
        engine       = database.value.engine
        version      = database.value.version
        production   = true
        cluster_name = database.value.cluster_name
        db_name      = database.value.db_name
        db_user      = database.value.db_user
      }
    }
  }
}
