"""The selectors labgrade sends (see tests/standin/selectors.py), and a 400 for any other."""
from __future__ import annotations

import pytest

from tests.standin.selectors import SelectorError, field_matcher, label_matcher


def obj(labels=None, name="a", namespace="default"):
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}}}


@pytest.mark.parametrize("selector, labels, matches", [
    ("", {"app": "web"}, True),
    ("k8s-app=kube-dns", {"k8s-app": "kube-dns", "pod-template-hash": "x"}, True),  # dns_probe, dns_tunnel
    ("k8s-app=kube-dns", {"k8s-app": "dns"}, False),
    ("k8s-app=kube-dns", {}, False),
    ("app==httpd", {"app": "httpd"}, True),
    ("app=httpd,deployment=deployment2", {"app": "httpd", "deployment": "deployment1"}, False),  # the contract test
    ("kubernetes.io/service-name=service2", {"kubernetes.io/service-name": "service2"}, True),
])
def test_label_equalities(selector, labels, matches):
    assert label_matcher(selector)(obj(labels)) is matches


@pytest.mark.parametrize("selector", ["app!=web", "app in (web)", "!app", "app=web,", "app=-bad-"])
def test_any_other_label_selector_is_refused(selector):
    with pytest.raises(SelectorError):
        label_matcher(selector)


def test_field_equalities_on_name_and_namespace():
    assert field_matcher("metadata.name=a")(obj())  # grader/elsewhere.py
    assert not field_matcher("metadata.name=b")(obj())
    assert field_matcher("metadata.name==a,metadata.namespace=default")(obj())
    assert not field_matcher("metadata.name=a,metadata.namespace=kube-system")(obj())
    with pytest.raises(SelectorError, match="field label not supported: status.phase"):
        field_matcher("status.phase=Running")
    with pytest.raises(SelectorError):
        field_matcher("metadata.namespace!=kube-system")
