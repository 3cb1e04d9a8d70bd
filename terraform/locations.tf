# Probing locations: the main app's (probe_location) and a worker-only app per entry of extra_probe_locations.

locals {
  # App Platform's regions (app_region, extra_probe_locations).
  app_platform_regions = ["atl", "nyc", "sfo", "tor", "ams", "fra", "lon", "blr", "sgp", "syd"]

  # Every location, the main app's first: every process of every app gets the whole list (PROBE_LOCATIONS).
  probe_locations = concat([var.probe_location], var.extra_probe_locations[*].name)

  # The extra locations' apps by location name, one per region (variables.tf), named after it.
  extra_probe_apps = {
    for location in var.extra_probe_locations :
    location.name => { app_name = "${var.project_name}-${location.region}", region = location.region }
  }
}
