"""A CoreDNS ``kubernetes`` plugin in miniature, answering from the stand-in's objects.

Reproduces the names a Service-discovery lab is about, with the kubeadm
Corefile's settings (``pods insecure``, ``ttl 30``):

- ``<svc>.<ns>.svc.cluster.local``: the ClusterIP, or for a headless Service
  the ready endpoint IPs (NXDOMAIN when there are none); a CNAME for an
  ExternalName Service.
- ``<endpoint>.<svc>.<ns>.svc.cluster.local``: one endpoint, named by its
  ``hostname`` (set by the endpoint controller when the pod's
  ``hostname``/``subdomain`` match) or else its dashed IP -- never both.
- ``<dashed-ip>.<ns>.pod.cluster.local``: the IP itself (``pods insecure``),
  or only when such a pod exists (``verified``).
- PTR for Service IPs and endpoint IPs.

Anything else in the zone is NXDOMAIN, a known name with no record of the
asked type is NODATA; both carry the zone's SOA in the authority section
and the AA flag, as CoreDNS does.  Names outside the zone would be forwarded
upstream by a real CoreDNS; the stand-in never sends packets elsewhere, so
it answers them from ``external`` or with SERVFAIL.

Not modelled: SRV records, wildcards, ``_port._proto`` names, IPv6 records
beyond passing through what the objects hold.
"""
from __future__ import annotations

import ipaddress
import struct
import time
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset

from tests.standin.netmodel import ClusterNetwork, dashed_to_ip, is_headless


@dataclass(frozen=True)
class Lookup:
    """The model's verdict for one (name, type): records, or why there are none."""

    rcode: int = dns.rcode.NOERROR
    records: tuple[tuple[str, str], ...] = ()  # (rdtype name, rdata text), owner is the query name


NXDOMAIN = Lookup(dns.rcode.NXDOMAIN)
NODATA = Lookup(dns.rcode.NOERROR)
SERVFAIL = Lookup(dns.rcode.SERVFAIL)


@dataclass
class DnsModel:
    network: ClusterNetwork
    zone: str = "cluster.local"
    ttl: int = 30
    pods_mode: str = "insecure"  # "insecure" | "verified" | "disabled"
    serial: int = field(default_factory=lambda: int(time.time()))
    external: dict[str, list[str]] = field(default_factory=dict)

    # The model --------------------------------------------------------------

    def lookup(self, qname: str, qtype: str = "A") -> Lookup:
        name = qname.lower().rstrip(".")
        qtype = qtype.upper()
        if name.endswith(".in-addr.arpa") or name.endswith(".ip6.arpa"):
            return self._ptr(name, qtype)
        if name != self.zone and not name.endswith("." + self.zone):
            ips = self.external.get(name)
            if ips is None:
                return SERVFAIL
            return self._addresses(ips, qtype)
        if name == self.zone:
            if qtype == "SOA":
                return Lookup(records=(("SOA", self._soa_text()),))
            if qtype == "NS":
                return Lookup(records=(("NS", f"ns.dns.{self.zone}."),))
            return NODATA
        labels = name[: -len(self.zone) - 1].split(".")
        kind = labels[-1]
        if kind == "svc":
            return self._svc(labels[:-1], qtype)
        if kind == "pod" and len(labels) == 3:
            return self._pod(labels[0], labels[1], qtype)
        return NXDOMAIN

    def _svc(self, labels: list[str], qtype: str) -> Lookup:
        if len(labels) == 1:  # <ns>.svc.<zone>: exists when the namespace does
            return NODATA if labels[0] in self.network.namespaces else NXDOMAIN
        if len(labels) not in (2, 3):
            return NXDOMAIN
        svc = self.network.services.get((labels[-1], labels[-2]))
        if svc is None:
            return NXDOMAIN
        spec = svc.get("spec") or {}
        if len(labels) == 3:  # an endpoint name, for any Service with endpoints (CoreDNS findServices)
            ips = [ep.ip for ep in self.network.endpoints(svc) if ep.dns_label == labels[0]]
            return self._addresses(ips, qtype) if ips else NXDOMAIN
        if spec.get("type") == "ExternalName":
            target = spec.get("externalName", "").rstrip(".") + "."
            return Lookup(records=(("CNAME", target),))
        if is_headless(svc):
            ips = [ep.ip for ep in self.network.endpoints(svc)]
            return self._addresses(ips, qtype) if ips else NXDOMAIN
        ips = [ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")] if ip and ip != "None"]
        return self._addresses(ips, qtype) if ips else NXDOMAIN

    def _pod(self, dashed: str, namespace: str, qtype: str) -> Lookup:
        if self.pods_mode == "disabled":
            return NXDOMAIN
        ip = dashed_to_ip(dashed)
        if ip is None:
            return NXDOMAIN
        if self.pods_mode == "verified":
            pod = self.network.pod_by_ip.get(ip)
            if pod is None or pod["metadata"].get("namespace") != namespace:
                return NXDOMAIN
        return self._addresses([ip], qtype)

    def _ptr(self, name: str, qtype: str) -> Lookup:
        try:
            ip = str(dns.reversename.to_address(dns.name.from_text(name)))
        except Exception:
            return NXDOMAIN
        targets: list[str] = []
        svc = self.network.service_by_ip.get(ip)
        if svc is not None:
            targets.append(f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.{self.zone}.")
        for svc in self.network.services.values():
            if is_headless(svc):
                for ep in self.network.endpoints(svc):
                    if ep.ip == ip:
                        targets.append(f"{ep.dns_label}.{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.{self.zone}.")
        if not targets:
            return NXDOMAIN
        return Lookup(records=tuple(("PTR", t) for t in targets)) if qtype == "PTR" else NODATA

    @staticmethod
    def _addresses(ips: list[str], qtype: str) -> Lookup:
        unique = list(dict.fromkeys(ips))
        v4 = [ip for ip in unique if ipaddress.ip_address(ip).version == 4]
        v6 = [ip for ip in unique if ipaddress.ip_address(ip).version == 6]
        if qtype == "A":
            return Lookup(records=tuple(("A", ip) for ip in v4))
        if qtype == "AAAA":
            return Lookup(records=tuple(("AAAA", ip) for ip in v6))
        return NODATA

    def _soa_text(self) -> str:
        return f"ns.dns.{self.zone}. hostmaster.{self.zone}. {self.serial} 7200 1800 86400 {self.ttl}"

    # A pod's view: resolv.conf search path ---------------------------------

    def resolve_from_pod(self, host: str, namespace: str, ndots: int = 5) -> list[str] | None:
        """Addresses a pod in ``namespace`` gets for ``host`` through its resolv.conf
        (``search <ns>.svc.<zone> svc.<zone> <zone>``, ``options ndots:5``), or None."""
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if host.endswith("."):
            candidates = [host.rstrip(".")]
        else:
            search = [f"{host}.{namespace}.svc.{self.zone}", f"{host}.svc.{self.zone}", f"{host}.{self.zone}"]
            candidates = [host] + search if host.count(".") >= ndots else search + [host]
        for candidate in candidates:
            result = self.lookup(candidate, "A")
            ips = [text for rdtype, text in result.records if rdtype == "A"]
            if ips:
                return ips
            cname = [text for rdtype, text in result.records if rdtype == "CNAME"]
            if cname:
                return self.resolve_from_pod(cname[0], namespace, ndots)
        return None

    def resolv_conf(self, namespace: str, nameserver: str = "10.96.0.10") -> str:
        return (f"search {namespace}.svc.{self.zone} svc.{self.zone} {self.zone}\n"
                f"nameserver {nameserver}\noptions ndots:5\n")

    # Wire format -------------------------------------------------------------

    def answer(self, wire: bytes) -> bytes:
        """Answer one DNS query message (no TCP length prefix)."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return _formerr(wire)
        response = dns.message.make_response(query)
        response.flags &= ~dns.flags.RA  # CoreDNS answers "qr aa rd": recursion not available
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        qname = question.name.to_text()
        result = self.lookup(qname, dns.rdatatype.to_text(question.rdtype))
        response.set_rcode(result.rcode)
        if result.rcode == dns.rcode.SERVFAIL:
            return response.to_wire()
        in_zone = qname.lower().rstrip(".").endswith(self.zone) or qname.lower().endswith(".arpa.")
        if in_zone:
            response.flags |= dns.flags.AA
        for rdtype, text in result.records:
            response.answer.append(dns.rrset.from_text(question.name, self.ttl, dns.rdataclass.IN, rdtype, text))
        if not result.records and in_zone:
            soa_owner = dns.name.from_text(self.zone + ".")
            response.authority.append(dns.rrset.from_text(soa_owner, self.ttl, dns.rdataclass.IN, "SOA", self._soa_text()))
        return response.to_wire()


def _formerr(wire: bytes) -> bytes:
    qid = wire[:2] if len(wire) >= 2 else b"\0\0"
    return qid + struct.pack("!HHHHH", 0x8001, 0, 0, 0, 0)


class TcpDnsStream:
    """DNS over one TCP byte stream: 2-byte length-prefixed messages in, answers out."""

    def __init__(self, model_factory):
        self._model_factory = model_factory
        self._buffer = b""

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        out = b""
        while len(self._buffer) >= 2:
            (length,) = struct.unpack("!H", self._buffer[:2])
            if len(self._buffer) < 2 + length:
                break
            message, self._buffer = self._buffer[2 : 2 + length], self._buffer[2 + length :]
            reply = self._model_factory().answer(message)
            out += struct.pack("!H", len(reply)) + reply
        return out
