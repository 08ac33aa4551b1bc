"""Legacy (non-aggregated) discovery documents and ``/version``.

Enough for the official client and for a grader that asks "does this
cluster serve discovery.k8s.io/v1?" before listing EndpointSlices.  The
aggregated v2 format is not offered; a client asking for it gets the legacy
documents, which every client accepts as the fallback.
"""
from __future__ import annotations

from typing import Any, Iterable

from tests.standin.resources import POD_SUBRESOURCES, Resource


def version_info(version: str) -> dict[str, Any]:
    major, minor, *_ = version.split(".")
    return {"major": major, "minor": minor, "gitVersion": f"v{version}",
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2024-06-11T20:20:00Z", "goVersion": "go1.22.4", "compiler": "gc",
            "platform": "linux/amd64"}


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_doc(group: str) -> dict[str, Any]:
    gv = {"groupVersion": f"{group}/v1", "version": "v1"}
    return {"name": group, "versions": [gv], "preferredVersion": gv}


def groups(enabled: Iterable[Resource]) -> list[str]:
    return sorted({r.group for r in enabled if r.group})


def api_group_list(enabled: Iterable[Resource]) -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_doc(g) for g in groups(enabled)]}


def api_group(group: str) -> dict[str, Any]:
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group)}


def resource_list(group_version: str, enabled: Iterable[Resource]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for res in sorted(enabled, key=lambda r: r.plural):
        if res.group_version != group_version:
            continue
        entries.append(res.discovery_entry())
        if res.plural == "pods":
            entries.extend(dict(sub) for sub in POD_SUBRESOURCES)
    body: dict[str, Any] = {"kind": "APIResourceList", "groupVersion": group_version, "resources": entries}
    if group_version != "v1":
        body["apiVersion"] = "v1"
    return body
