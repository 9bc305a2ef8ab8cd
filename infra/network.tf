# WeCom only accepts API calls from trusted IPs: all egress leaves through one static IP.
resource "google_compute_network" "egress" {
  project                 = var.project_id
  name                    = "${local.name}-egress"
  auto_create_subnetworks = false
}

resource "google_vpc_access_connector" "egress" {
  project       = var.project_id
  name          = "${var.env}-siyu-egress"
  region        = var.region
  network       = google_compute_network.egress.name
  ip_cidr_range = "10.8.0.0/28"
}

resource "google_compute_router" "egress" {
  project = var.project_id
  name    = "${local.name}-router"
  region  = var.region
  network = google_compute_network.egress.id
}

resource "google_compute_address" "egress" {
  project = var.project_id
  name    = "${local.name}-egress-ip"
  region  = var.region
}

resource "google_compute_router_nat" "egress" {
  project                            = var.project_id
  name                               = "${local.name}-nat"
  router                             = google_compute_router.egress.name
  region                             = var.region
  nat_ip_allocate_option             = "MANUAL_ONLY"
  nat_ips                            = [google_compute_address.egress.self_link]
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
}

# Nothing may reach the connector's network from outside; it exists only for egress.
resource "google_compute_firewall" "deny_ingress" {
  project   = var.project_id
  name      = "${local.name}-deny-ingress"
  network   = google_compute_network.egress.name
  direction = "INGRESS"
  priority  = 65534
  deny {
    protocol = "all"
  }
  source_ranges = ["0.0.0.0/0"]
}
