"""Reads and documentation sections of the checks registered before checks
declared them (the Service-discovery lab's own checks).

Their modules belong to the existing check library; rather than edit them
while they change, this file gives each its ``reads`` (so a live source
lists only what a rubric needs) and the ``labgrade checks --doc`` sections
their docstrings do not have yet.  When a module gains ``reads=`` and the
sections in its docstring, its entry here becomes unused and can go:
a registration's own declaration always wins.
"""
from __future__ import annotations

from checks import registry

READS: dict[str, tuple[str, ...]] = {
    "deployment.exists": ("Deployment", "Pod"),
    "deployment.replicas": ("Deployment", "ReplicaSet", "Pod"),
    "deployment.image": ("Deployment", "ReplicaSet", "Pod"),
    "deployment.pods": ("Deployment", "ReplicaSet", "Pod"),
    "service.exists": ("Service",),
    "service.endpoints": ("Service", "Endpoints", "EndpointSlice", "Pod", "ReplicaSet", "Deployment"),
    "service.target_port": ("Service", "Endpoints", "EndpointSlice", "Pod"),
    "service.headless": ("Service",),
    "pod.running": ("Pod",),
    "exec.http_get": ("Service", "Endpoints", "EndpointSlice", "Pod"),
    "dns.service": ("Service", "Endpoints", "EndpointSlice", "Pod"),
    "cleanup.deleted": ("Deployment", "ReplicaSet", "Pod", "Service"),
    "cleanup.kubernetes_service_intact": ("Service", "Endpoints", "EndpointSlice",
                                          "Namespace:default", "Service:default/kubernetes"),
}

#: Sections for ``labgrade checks --doc``: why / passes / fails / partial credit.
DOCS: dict[str, dict[str, str]] = {
    "deployment.exists": {
        "Why": "Every later step of a Deployment lab needs the Deployment; one check says so once, and later ones `needs:` it.",
        "Passes": "The Deployment exists in the lab namespace and is not being deleted.",
        "Fails": "\"no Deployment deployment1 in namespace default\" (with the names that are there, and bare pods named like it); \"Deployment deployment1 is being deleted\".",
        "Partial credit": "none.",
    },
    "deployment.replicas": {
        "Why": "A replica count is met only when the pods really run; the spec and the ready pods are each half.",
        "Passes": "spec.replicas is the number asked and (with ready) that many owned pods are Ready.",
        "Fails": "\"deployment1 has 1 replicas, expected 2\"; \"deployment1 asks for 2 replicas but 1 pods are ready\".",
        "Partial credit": "half for spec.replicas, half for the ready pods.",
    },
    "deployment.image": {
        "Why": "The repository name makes an image httpd, not a tag called httpd; pods of an older template count too.",
        "Passes": "Every container of the template and of the owned pods runs the image repository.",
        "Fails": "\"deployment1 does not run httpd: httpd=nginx\".",
        "Partial credit": "none.",
    },
    "deployment.pods": {
        "Why": "Pods made by hand with the right labels are not the Deployment's; ownership by uid tells them apart.",
        "Passes": "As many running pods as spec.replicas are owned by the Deployment through its ReplicaSet.",
        "Fails": "\"deployment2 has 0 running pods, expected 3\", noting lookalike pods.",
        "Partial credit": "none.",
    },
    "service.exists": {
        "Why": "Later Service checks need the Service; one check says it is missing once.",
        "Passes": "The Service exists and is not being deleted.",
        "Fails": "\"no Service service1 in namespace default\"; \"Service service1 is being deleted\".",
        "Partial credit": "none.",
    },
    "service.endpoints": {
        "Why": "A Service is right when it routes to the right pods; endpoints are followed to pods and pods to Deployments by uid.",
        "Passes": "The ready endpoints are exactly all pods (all) or one pod of each (one-of-each) of the Deployments.",
        "Fails": "\"service2 has 5 endpoints: ...; expected one pod of deployment1 and one pod of deployment2\"; \"service2 has no selector: its endpoints are written by hand\".",
        "Partial credit": "none.",
    },
    "service.target_port": {
        "Why": "A Service that forwards to the wrong container port resolves but never answers.",
        "Passes": "A TCP port's targetPort is the container port (named ports resolved against the pods).",
        "Fails": "\"service1 does not forward to container port 80\".",
        "Partial credit": "none.",
    },
    "service.headless": {
        "Why": "Only a headless Service gives each backend pod a DNS name under it.",
        "Passes": "spec.clusterIP is None.",
        "Fails": "\"service2 is not headless\".",
        "Partial credit": "none.",
    },
    "pod.running": {
        "Why": "A probe from a pod needs the pod running; a crash-looping client says why the probe cannot run.",
        "Passes": "The pod is Running and Ready and not being deleted.",
        "Fails": "\"Pod clientpod is not running and ready (CrashLoopBackOff)\"; \"no Pod clientpod in namespace default\".",
        "Partial credit": "none.",
    },
    "exec.http_get": {
        "Why": "Reaching a backend pod by its DNS name from a client pod proves DNS and the Service work end to end.",
        "Passes": "wget of the first backend pod's DNS name exits 0 and the page has the expected text.",
        "Fails": "\"the name does not resolve\"; \"the connection was refused\"; \"there is no wget in the pod\".",
        "Partial credit": "none.",
    },
    "dns.service": {
        "Why": "CoreDNS answers from Services: a ClusterIP, or a headless Service's ready endpoint IPs.",
        "Passes": "The A answer for <name>.<ns>.svc.<domain> is exactly the expected addresses.",
        "Fails": "\"DNS gives the wrong answer for service1.default.svc.cluster.local\".",
        "Partial credit": "none.",
    },
    "cleanup.deleted": {
        "Why": "Cleanup is graded per object; terminating objects count as gone.",
        "Passes": "None of the named objects (and the Deployments' pods) is present.",
        "Fails": "\"2 Service(s) still present: service1, service2\".",
        "Partial credit": "the fraction of objects that are gone.",
    },
    "cleanup.kubernetes_service_intact": {
        "Why": "The API server re-creates a deleted kubernetes Service at once, so only its uid (or age) shows it was deleted.",
        "Passes": "Its uid equals an earlier view's, or without one it is as old as the default namespace.",
        "Fails": "\"the kubernetes service was deleted (the API server re-created it)\".",
        "Partial credit": "none.",
    },
}


for _id, _reads in READS.items():
    if _id in registry._REGISTRY:
        registry.declare_reads(_id, _reads)
