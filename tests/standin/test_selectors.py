"""Selector semantics that decide which objects a grader sees."""
from __future__ import annotations

import pytest

from tests.standin.selectors import SelectorError, field_matcher, label_matcher, parse_label_selector


def obj(labels=None, name="a", namespace="default", phase="Running"):
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "status": {"phase": phase}}


@pytest.mark.parametrize("selector, labels, matches", [
    ("", {}, True),
    ("app=web", {"app": "web"}, True),
    ("app=web", {}, False),
    ("app!=web", {}, True),  # != also matches objects without the label
    ("app notin (web)", {}, True),
    ("app in (web, db)", {"app": "db"}, True),
    ("app in (web, db)", {}, False),
    ("app", {"app": ""}, True),
    ("!app", {"app": ""}, False),
    ("app=", {"app": ""}, True),
    ("app in ()", {"app": ""}, True),  # "()" is the set {""}
    ("tier=web, app!=x", {"tier": "web"}, True),
    ("example.com/role=x", {"example.com/role": "x"}, True),
    ("n>3", {"n": "4"}, True),
    ("n<3", {"n": "x"}, False),
])
def test_label_selector_semantics(selector, labels, matches):
    assert label_matcher(selector)(obj(labels)) is matches


@pytest.mark.parametrize("selector", ["app in web", "app=web,", "=web", "app = a b", "a/b/c=1", "app=-bad-",
                                      "app in (a", "app ~ b"])
def test_invalid_label_selectors(selector):
    with pytest.raises(SelectorError):
        parse_label_selector(selector)


def test_field_selectors():
    assert field_matcher("metadata.name=a,metadata.namespace!=kube-system", "pods")(obj())
    assert not field_matcher("status.phase==Pending", "pods")(obj())
    assert field_matcher(r"metadata.name=a\,b", "services")(obj(name="a,b"))
    with pytest.raises(SelectorError, match="field label not supported: status.phase"):
        field_matcher("status.phase=Running", "services")
