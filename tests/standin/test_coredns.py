"""The CoreDNS model: which names resolve, to what, and how failures look."""
from __future__ import annotations

import dns.rcode

from tests.standin.coredns import DnsModel
from tests.standin.netmodel import ClusterNetwork
from tests.standin.objects import lab_cluster, pod, service, with_endpoints
from tests.standin.store import ObjectStore


def model(objects, **kwargs) -> DnsModel:
    return DnsModel(ClusterNetwork(ObjectStore(objects).current), **kwargs)


def addresses(m: DnsModel, name: str, qtype: str = "A") -> list[str]:
    return sorted(text for _, text in m.lookup(name, qtype).records)


def test_service_names():
    m = model(lab_cluster())
    assert addresses(m, "service1.default.svc.cluster.local") == ["10.96.100.1"]
    assert addresses(m, "SERVICE2.default.svc.cluster.local.") == ["10.244.1.10", "10.244.1.20"]
    assert addresses(m, "10-244-1-10.service2.default.svc.cluster.local") == ["10.244.1.10"]
    # CoreDNS answers endpoint names for ClusterIP services too (findServices checks r.endpoint)
    assert addresses(m, "10-244-1-21.service1.default.svc.cluster.local") == ["10.244.1.21"]
    assert m.lookup("service2.kube-system.svc.cluster.local").rcode == dns.rcode.NXDOMAIN
    assert m.lookup("default.svc.cluster.local").rcode == dns.rcode.NOERROR  # namespace exists: NODATA
    assert m.lookup("example.com").rcode == dns.rcode.SERVFAIL  # never forwarded upstream


def test_headless_service_lists_only_ready_endpoints():
    objects = lab_cluster()
    for o in objects:
        if o["kind"] == "Pod" and o["metadata"].get("labels", {}).get("svc2") == "yes" and "deployment2" in o["metadata"]["name"]:
            o["status"]["conditions"][0]["status"] = "False"
    objects = with_endpoints([o for o in objects if o["kind"] not in ("Endpoints", "EndpointSlice")])
    assert addresses(model(objects), "service2.default.svc.cluster.local") == ["10.244.1.10"]


def test_headless_service_without_endpoints_is_nxdomain():
    objects = lab_cluster() + [service("lonely", selector={"app": "nothing"}, headless=True)]
    assert model(with_endpoints(objects)).lookup("lonely.default.svc.cluster.local").rcode == dns.rcode.NXDOMAIN


def test_legacy_endpoints_used_without_slices():
    objects = [o for o in lab_cluster() if o["kind"] != "EndpointSlice"]
    assert addresses(model(objects), "service2.default.svc.cluster.local") == ["10.244.1.10", "10.244.1.20"]


def test_pod_records_per_mode():
    objects = lab_cluster()
    assert addresses(model(objects), "1-2-3-4.default.pod.cluster.local") == ["1.2.3.4"]
    verified = model(objects, pods_mode="verified")
    assert verified.lookup("1-2-3-4.default.pod.cluster.local").rcode == dns.rcode.NXDOMAIN
    assert addresses(verified, "10-244-1-10.default.pod.cluster.local") == ["10.244.1.10"]
    assert model(objects, pods_mode="disabled").lookup("10-244-1-10.default.pod.cluster.local").rcode == dns.rcode.NXDOMAIN


def test_external_name_and_ptr():
    m = model(lab_cluster() + [service("ext", external_name="example.com")])
    assert m.lookup("ext.default.svc.cluster.local").records == (("CNAME", "example.com."),)
    assert m.lookup("1.100.96.10.in-addr.arpa", "PTR").records == (("PTR", "service1.default.svc.cluster.local."),)
    # pod IPs get a PTR only as endpoints of a headless service
    assert m.lookup("10.1.244.10.in-addr.arpa", "PTR").records == (
        ("PTR", "10-244-1-10.service2.default.svc.cluster.local."),)
    assert m.lookup("11.1.244.10.in-addr.arpa", "PTR").rcode == dns.rcode.NXDOMAIN


def test_resolution_from_a_pod_uses_the_search_path():
    m = model(lab_cluster("lab"))
    assert m.resolve_from_pod("service1", "lab") == ["10.96.100.1"]
    assert m.resolve_from_pod("service1.lab", "default") == ["10.96.100.1"]
    assert m.resolve_from_pod("service1", "default") is None
    assert m.resolve_from_pod("10.1.2.3", "lab") == ["10.1.2.3"]
    assert m.resolve_from_pod("kube-dns.kube-system.svc.cluster.local.", "lab") == ["10.96.0.10"]
    assert "search lab.svc.cluster.local svc.cluster.local cluster.local" in m.resolv_conf("lab")


def test_hostname_and_subdomain_name_the_endpoint():
    web = pod("web-0", ip="10.244.1.77", labels={"app": "web"}, hostname="web-0", subdomain="web")
    m = model(with_endpoints(lab_cluster() + [web, service("web", selector={"app": "web"}, headless=True)]))
    assert addresses(m, "web-0.web.default.svc.cluster.local") == ["10.244.1.77"]
    assert m.lookup("10-244-1-77.web.default.svc.cluster.local").rcode == dns.rcode.NXDOMAIN
