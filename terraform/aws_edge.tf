# The edge: ACM certificate (us-east-1), WAF, and CloudFront with two origins — the Spaces bucket for
# /assets/*, App Platform for the rest. Dash callbacks (/_dash*), the API and the page are never cached.
# CloudFront sends App Platform a secret header the app requires (ORIGIN_SECRET), so the default
# *.ondigitalocean.app address serves nothing but the platform's health checks. The WAF and CloudFront log
# to CloudWatch Logs in us-east-1.

resource "aws_acm_certificate" "site" {
  provider          = aws.us_east_1
  domain_name       = var.domain_name
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

locals {
  acm_validation = {
    for o in aws_acm_certificate.site.domain_validation_options : o.domain_name => {
      name  = o.resource_record_name
      type  = o.resource_record_type
      value = o.resource_record_value
    }
  }
}

resource "digitalocean_record" "acm_validation" {
  for_each = var.dns_zone == "" ? {} : local.acm_validation
  domain   = var.dns_zone
  type     = each.value.type
  name     = trimsuffix(trimsuffix(each.value.name, "${var.dns_zone}."), ".")
  value    = each.value.value
  ttl      = 300
}

# Waits until the certificate is issued; with dns_zone empty, create the records from the
# acm_validation_records output yourself while this waits.
resource "aws_acm_certificate_validation" "site" {
  provider                = aws.us_east_1
  certificate_arn         = aws_acm_certificate.site.arn
  validation_record_fqdns = [for r in local.acm_validation : r.name]
}

resource "aws_wafv2_web_acl" "edge" {
  provider    = aws.us_east_1
  name        = "${var.project_name}-edge"
  description = "Rate limit and AWS managed rules in front of the dashboard"
  scope       = "CLOUDFRONT"

  default_action {
    allow {}
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 0

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit
        aggregate_key_type = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-common-rule-set"
    priority = 1

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-common-rule-set"
      sampled_requests_enabled   = true
    }
  }

  # Log4j and other known-bad request patterns.
  rule {
    name     = "aws-known-bad-inputs"
    priority = 2

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.project_name}-edge"
    sampled_requests_enabled   = true
  }
}

# The edge's logs, in us-east-1 with the web ACL and the distribution: the WAF's (its name must start with
# "aws-waf-logs-") and CloudFront's standard access logs (v2, rather than an S3 bucket with ACLs).
resource "aws_cloudwatch_log_group" "edge" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts log data at rest itself; a customer key adds a key policy to keep for no added protection here.
  for_each = {
    waf        = "aws-waf-logs-${var.project_name}"
    cloudfront = "/aws/cloudfront/${var.project_name}"
  }
  provider          = aws.us_east_1
  name              = each.value
  retention_in_days = var.edge_log_retention_days
}

# Every request the WAF sees, with its verdict; credentials and cookies are redacted.
resource "aws_wafv2_web_acl_logging_configuration" "edge" {
  provider                = aws.us_east_1
  resource_arn            = aws_wafv2_web_acl.edge.arn
  log_destination_configs = [aws_cloudwatch_log_group.edge["waf"].arn]

  redacted_fields {
    single_header {
      name = "authorization"
    }
  }

  redacted_fields {
    single_header {
      name = "cookie"
    }
  }
}

# CloudFront's standard access logs (v2), delivered to CloudWatch Logs.
resource "aws_cloudwatch_log_delivery_source" "cloudfront" {
  provider     = aws.us_east_1
  name         = "${var.project_name}-cloudfront"
  log_type     = "ACCESS_LOGS"
  resource_arn = aws_cloudfront_distribution.this.arn
}

resource "aws_cloudwatch_log_delivery_destination" "cloudfront" {
  provider      = aws.us_east_1
  name          = "${var.project_name}-cloudfront"
  output_format = "json"

  delivery_destination_configuration {
    destination_resource_arn = aws_cloudwatch_log_group.edge["cloudfront"].arn
  }
}

resource "aws_cloudwatch_log_delivery" "cloudfront" {
  provider                 = aws.us_east_1
  delivery_source_name     = aws_cloudwatch_log_delivery_source.cloudfront.name
  delivery_destination_arn = aws_cloudwatch_log_delivery_destination.cloudfront.arn
}

data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

# /assets from Spaces: the page names each file with its version in the query (`?m=<mtime>`, `?v=<version>`),
# so those two parameters are part of the cache key and a new file is fetched at once.
resource "aws_cloudfront_cache_policy" "versioned_assets" {
  name        = "${var.project_name}-versioned-assets"
  min_ttl     = 0
  default_ttl = 86400
  max_ttl     = 31536000

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "whitelist"
      query_strings {
        items = ["m", "v"]
      }
    }
  }
}

# Everything the viewer sent except Host, so App Platform routes by its own host name.
data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  name = "Managed-AllViewerExceptHostHeader"
}

locals {
  app_origin_id    = "app-platform"
  assets_origin_id = "spaces-assets"
  app_host         = trimsuffix(trimprefix(digitalocean_app.this.default_ingress, "https://"), "/")
  # Dynamic paths: never cached, every header/cookie/query passed through.
  uncached_paths = ["/_dash*", "/api/*", "/rq*", "/healthz", "/metrics"]
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_86:Standard logging v2 delivers the access logs to CloudWatch Logs (aws_cloudwatch_log_delivery.cloudfront); this check knows only the legacy S3 logging_config.
  #checkov:skip=CKV_AWS_310:Origin failover needs a second app origin; App Platform already runs 2+ instances.
  #checkov:skip=CKV_AWS_374:A public status page; no country is excluded.
  #checkov:skip=CKV2_AWS_32:The app sets its own security headers (dashapp/security.py), incl. a CSP CloudFront cannot know.
  #checkov:skip=CKV_AWS_305:"/" is served by the Dash app itself; there is no index object to name.
  #checkov:skip=CKV2_AWS_47:The Log4j AMR (KnownBadInputs) is attached; AnonymousIpList would lock out operators on VPNs and cloud hosts.
  enabled         = true
  is_ipv6_enabled = true
  comment         = "${var.project_name} dashboard"
  aliases         = [var.domain_name]
  price_class     = "PriceClass_100"
  web_acl_id      = aws_wafv2_web_acl.edge.arn
  http_version    = "http2and3"

  origin {
    origin_id   = local.app_origin_id
    domain_name = local.app_host

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }

    # The app refuses (403) every request without it but the platform's health checks (ORIGIN_SECRET).
    custom_header {
      name  = "X-Origin-Verify"
      value = random_password.origin_secret.result
    }
  }

  origin {
    origin_id   = local.assets_origin_id
    domain_name = "${digitalocean_spaces_bucket.assets.name}.${var.do_region}.digitaloceanspaces.com"

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }

    custom_header {
      name  = "Referer"
      value = random_password.cdn_origin_secret.result
    }
  }

  ordered_cache_behavior {
    path_pattern           = "/assets/*"
    target_origin_id       = local.assets_origin_id
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD", "OPTIONS"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = aws_cloudfront_cache_policy.versioned_assets.id
    compress               = true
  }

  # Dash's and its components' scripts: public, fingerprinted by the app (a year, immutable) or revalidated by
  # ETag (no-cache); cached as the app's Cache-Control says. Before "/_dash*", which would match first.
  ordered_cache_behavior {
    path_pattern           = "/_dash-component-suites/*"
    target_origin_id       = local.app_origin_id
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD", "OPTIONS"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = data.aws_cloudfront_cache_policy.optimized.id
    compress               = true
  }

  dynamic "ordered_cache_behavior" {
    for_each = local.uncached_paths
    content {
      path_pattern             = ordered_cache_behavior.value
      target_origin_id         = local.app_origin_id
      viewer_protocol_policy   = "redirect-to-https"
      allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
      cached_methods           = ["GET", "HEAD"]
      cache_policy_id          = data.aws_cloudfront_cache_policy.disabled.id
      origin_request_policy_id = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
      compress                 = true
    }
  }

  # The page itself carries a per-load signed token from Dash, so it is not cached either.
  default_cache_behavior {
    target_origin_id         = local.app_origin_id
    viewer_protocol_policy   = "redirect-to-https"
    allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods           = ["GET", "HEAD"]
    cache_policy_id          = data.aws_cloudfront_cache_policy.disabled.id
    origin_request_policy_id = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
    compress                 = true
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = aws_acm_certificate_validation.site.certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }
}
