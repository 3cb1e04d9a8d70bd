"""app.yaml and the Terraform app spec set the same variables, on the same components, and together cover every
setting the app needs in production. Names come from jobs/settings/, so a new or misspelt setting fails here."""

from __future__ import annotations

import re

import hcl2
import yaml
from deploy_paths import ROOT, TERRAFORM

from dashapp.edge import ORIGIN_HEADER
from jobs.settings import load

SETTINGS_SOURCE = "".join(p.read_text() for p in sorted((ROOT / "jobs" / "settings").glob("*.py")))

# Settings the deployed app deliberately leaves at their default or does not use, and why.
NOT_DEPLOYED = {
    "PGHOST": "DATABASE_URL is used instead",
    "PGPORT": "DATABASE_URL is used instead",
    "PGUSER": "DATABASE_URL is used instead",
    "PGPASSWORD": "DATABASE_URL is used instead",
    "PGDATABASE": "DATABASE_URL is used instead",
    "PGSSLROOTCERT": "DATABASE_CA_CERT is used instead (the bound CA_CERT is PEM text, not a file)",
    "VALKEY_HOST": "VALKEY_URL is used instead",
    "VALKEY_PORT": "VALKEY_URL is used instead",
    "VALKEY_TLS": "VALKEY_URL is used instead (rediss:// = TLS)",
    "VALKEY_USERNAME": "VALKEY_URL is used instead",
    "VALKEY_PASSWORD": "VALKEY_URL is used instead",
    "AWS_DEFAULT_REGION": "AWS_REGION is set",
    "IAM_CLIENT_CHAIN": "only for a client certificate issued by an intermediate CA",
    "AWS_ENDPOINT_URL_ROLESANYWHERE": "local sandbox only",
    "AWS_CA_BUNDLE": "local sandbox only",
    "AWS_ENDPOINT_URL_STS": "local sandbox only (botocore's own setting; AWS's endpoint in production)",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER": "local sandbox only (botocore's own setting; AWS's endpoint in production)",
    "AWS_ENDPOINT_URL": "botocore's own setting for every service; AWS's endpoints in production",
    "CERT_WARN_DAYS": "the default (30 days) is the production value",
    "PROBE_INTERVAL_S": "the default (60 s) is the production value",
    "PROBE_TIMEOUT_S": "the default (10 s) is the production value",
    "DASH_REFRESH_S": "the default is the production value",
    "BIND_HOST": "the default (every interface) is what a container needs",
    "WEB_CONCURRENCY": "the default (1 process, 3 threads) suits the instance size; set it when resizing",
    "STATUS_PAGE": "the public status page is off until an operator decides to publish it (DEPLOY.md)",
    "RAW_RETENTION_DAYS": "the default is the production value",
    "ROLLUP_RETENTION_DAYS": "the default is the production value",
    "ALERT_OPEN_FAILURES": "the default (3 of 5) is the production value",
    "ALERT_OPEN_WINDOW": "the default (3 of 5) is the production value",
    "ALERT_RESOLVE_CHECKS": "the default (2 in a row) is the production value",
    "ALERT_REMINDER_S": "the default (4 h) is the production value",
    "ALERT_FAILING_LOCATIONS": "the default (every probing location) is the production value",
    "MAINTENANCE_WINDOWS": "none by default; an operator sets the windows a deployment has",
    "ALERT_CONFIG": "optional routing by tag; the deployed app sends every message to each ALERT_URLS entry",
    "CERT_WARN_AT_DAYS": "the default (30, 14, 7, 1 days) is the production value",
    "ALERT_HEARTBEAT_URL": "optional: the operator's own dead-man's switch (healthchecks-style), set by hand",
    "SPACES_BUCKET": "publish-assets runs from CI or an operator's shell, not in the app",
    "SPACES_REGION": "publish-assets runs from CI or an operator's shell, not in the app",
    "SPACES_ACCESS_KEY_ID": "publish-assets runs from CI or an operator's shell, not in the app",
    "SPACES_SECRET_ACCESS_KEY": "publish-assets runs from CI or an operator's shell, not in the app",
    "AWS_ENDPOINT_URL_S3": "publish-assets runs from CI or an operator's shell, not in the app",
    "SESSION_MAX_AGE_S": "the default (12 h) is the production value",
    "OIDC_GROUPS_CLAIM": "the default (groups) is what providers send",
    "AUTH_BASIC_USERNAME": "the deployment signs in with OIDC; basic is for small teams without a provider",
    "AUTH_BASIC_PASSWORD_HASH": "the deployment signs in with OIDC; basic is for small teams without a provider",
}


def settings_names() -> set[str]:
    """Every environment variable jobs/settings/ reads."""
    direct = re.findall(r'(?:\(env, |env\.get\()"([A-Z][A-Z0-9_]*)"', SETTINGS_SOURCE)
    constants = re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', SETTINGS_SOURCE)
    return set(direct) | set(constants)


def app_yaml_envs() -> dict[str, set[str]]:
    spec = yaml.safe_load((ROOT / "app.yaml").read_text())
    components = {"(app)": spec} | {c["name"]: c for c in spec.get("services", []) + spec.get("workers", [])}
    return {name: {e["key"] for e in c.get("envs", [])} for name, c in components.items()}


def _unquote(value: str) -> str:
    return value.strip('"')


def _hcl(name: str) -> dict:
    return hcl2.loads((TERRAFORM / name).read_text())


def _locals(name: str) -> dict:
    return {key: value for block in _hcl(name)["locals"] for key, value in block.items()}


def _apps() -> dict[str, dict]:
    """app.tf's digitalocean_app resources by name: "this", the main app, and each extra location's."""
    found = [r['"digitalocean_app"'] for r in _hcl("app.tf")["resource"] if '"digitalocean_app"' in r]
    return {_unquote(name): body for resource in found for name, body in resource.items()}


def terraform_envs(app: str = "this") -> dict[str, set[str]]:
    lists = {name: value for name, value in _locals("app.tf").items() if name.endswith("_envs")}
    spec = _apps()[app]["spec"][0]

    def keys(component: dict) -> set[str]:
        found: set[str] = set()
        for dynamic in component.get("dynamic", []):
            body = dynamic.get('"env"')
            if body:
                local = re.search(r"local\.(\w+)", body["for_each"]).group(1)
                found |= {_unquote(e["key"]) for e in lists[local]}
        found |= {_unquote(e["key"]) for e in component.get("env", [])}
        return found

    components = {"(app)": spec} | {_unquote(c["name"]): c for c in spec.get("service", []) + spec.get("worker", [])}
    return {name: keys(c) for name, c in components.items()}


def test_settings_scan_finds_the_known_names() -> None:
    # Guards the scan itself: if it found nothing, the checks below would pass vacuously.
    assert {"DATABASE_URL", "VALKEY_URL", "IAM_CLIENT_KEY", "PGSSLMODE", "PORT"} <= settings_names()


def test_both_specs_set_the_same_names_on_the_same_components() -> None:
    assert app_yaml_envs() == terraform_envs()


def test_every_production_setting_is_deployed() -> None:
    deployed = set().union(*app_yaml_envs().values())
    needed = settings_names() - set(NOT_DEPLOYED)
    assert needed - deployed == set(), "set these in app.yaml and terraform/app.tf, or list them in NOT_DEPLOYED"


def test_no_spec_sets_a_name_the_app_does_not_read() -> None:
    known = settings_names()
    for source, envs in (("app.yaml", app_yaml_envs()), ("terraform/app.tf", terraform_envs())):
        unknown = set().union(*envs.values()) - known
        assert not unknown, f"{source} sets variables jobs/settings/ never reads: {sorted(unknown)}"


def test_not_deployed_list_has_no_stale_names() -> None:
    assert set(NOT_DEPLOYED) <= settings_names(), "remove names jobs/settings/ no longer reads"


def test_every_extra_location_runs_the_main_worker_alone() -> None:
    """An extra location's app is the main app's worker, to the letter (command, image source, size, variables),
    beside the same bound clusters; no web, no scheduler."""
    apps = _apps()
    main, extra = apps["this"], apps["extra_location"]
    assert extra["for_each"] == "${local.extra_probe_apps}"
    main_spec, extra_spec = main["spec"][0], extra["spec"][0]
    main_worker = next(w for w in main_spec["worker"] if _unquote(w["name"]) == "worker")
    assert extra_spec["worker"] == [main_worker]
    assert not {"service", "ingress", "static_site", "job"} & set(extra_spec)
    databases = [d for d in main_spec["dynamic"] if '"database"' in d]
    assert databases and databases == [d for d in extra_spec["dynamic"] if '"database"' in d]


def test_every_extra_location_sets_the_main_workers_names() -> None:
    main, extra = terraform_envs(), terraform_envs("extra_location")
    assert set(extra) == {"(app)", "worker"}
    assert extra == {"(app)": main["(app)"], "worker": main["worker"]}
    assert "PROBE_LOCATIONS" in main["(app)"] and "PROBE_LOCATION" in main["(app)"]


def test_every_app_gets_every_location_and_its_own() -> None:
    """PROBE_LOCATIONS comes from one list, the same in every app; PROBE_LOCATION is the main app's
    probe_location, and each extra app's own location (its key), which that list holds (test_deploy_terraform
    evaluates it)."""
    shared = {_unquote(e["key"]): e["value"] for e in _locals("app.tf")["shared_envs"]}
    assert shared["PROBE_LOCATIONS"] == '${join(",", local.probe_locations)}'
    assert "PROBE_LOCATION" not in shared, "each app sets its own PROBE_LOCATION"
    own = {"this": "${var.probe_location}", "extra_location": "${each.key}"}
    for app, spec in ((name, body["spec"][0]) for name, body in _apps().items()):
        assert [d['"env"']["for_each"] for d in spec["dynamic"] if '"env"' in d] == ["${local.shared_envs}"]
        assert {_unquote(e["key"]): e["value"] for e in spec["env"]} == {"PROBE_LOCATION": own[app]}, app
    assert _locals("locations.tf")["probe_locations"].startswith("${concat([var.probe_location], ")


def test_app_yaml_locations_are_ones_the_app_accepts() -> None:
    spec = yaml.safe_load((ROOT / "app.yaml").read_text())
    envs = {e["key"]: e["value"] for e in spec["envs"] if e["key"] in ("PROBE_LOCATION", "PROBE_LOCATIONS")}
    settings = load(envs)
    assert settings.location in settings.locations and len(envs) == 2


def test_the_clusters_trust_every_app() -> None:
    """Each cluster's firewall trusts the main app and every extra location's app, and nothing else."""
    trusted = str(_locals("digitalocean.tf")["trusted_app_ids"])  # an expression, or a list of them
    for app in _apps():
        reference = "digitalocean_app.this.id" if app == "this" else f"in digitalocean_app.{app} : app.id"
        assert reference in trusted, f"the clusters do not trust digitalocean_app.{app}"
    resources = _hcl("digitalocean.tf")["resource"]
    firewalls = [r['"digitalocean_database_firewall"'] for r in resources if '"digitalocean_database_firewall"' in r]
    rules = {_unquote(name): body for resource in firewalls for name, body in resource.items()}
    assert set(rules) == {"pg", "valkey"}
    for cluster, body in rules.items():
        assert "rule" not in body, f"{cluster}: a trusted source outside trusted_app_ids"
        assert body["dynamic"] == [
            {
                '"rule"': {
                    "for_each": "${local.trusted_app_ids}",
                    "content": [{"type": '"app"', "value": "${rule.value}", "__is_block__": True}],
                    "__is_block__": True,
                }
            }
        ], cluster


def test_terraform_runs_the_procfile_commands() -> None:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
    parsed = hcl2.loads((TERRAFORM / "app.tf").read_text())
    commands = next(block["procfile"] for block in parsed["locals"] if "procfile" in block)
    assert {name: _unquote(command) for name, command in commands.items()} == {
        name: procfile[name] for name in ("worker", "scheduler")
    }


def test_cloudfront_sends_the_app_the_origin_secret_it_requires() -> None:
    """The header CloudFront adds to the app's origin is the one the app checks, with the value the app is given
    (as an encrypted variable); the Spaces origin never gets it."""
    edge = hcl2.loads((TERRAFORM / "aws_edge.tf").read_text())
    distribution = next(
        r['"aws_cloudfront_distribution"'] for r in edge["resource"] if '"aws_cloudfront_distribution"' in r
    )
    origins = {o["origin_id"]: o for o in distribution['"this"']["origin"]}
    headers = {_unquote(h["name"]): h["value"] for h in origins["${local.app_origin_id}"].get("custom_header", [])}
    secret = "${random_password.origin_secret.result}"
    assert headers == {ORIGIN_HEADER: secret}
    assert secret not in str(origins["${local.assets_origin_id}"])
    parsed = hcl2.loads((TERRAFORM / "app.tf").read_text())
    web = next(block["web_envs"] for block in parsed["locals"] if "web_envs" in block)
    assert {"key": '"ORIGIN_SECRET"', "value": secret, "type": '"SECRET"'} in web
