"""Partial object trees (checks/assert_tree.py): one case per way a leaf
matches or does not, as kuttl and Chainsaw assertion trees behave."""
from __future__ import annotations

import pytest

from checks.assert_tree import ABSENT, BadAssertion, closest, fill_namespace, match, show, validate

SVC = {"kind": "Service", "metadata": {"name": "web", "labels": {"app": "web"}},
       "spec": {"type": "NodePort", "clusterIP": "10.96.1.2",
                "ports": [{"name": "http", "port": 80, "targetPort": 80, "nodePort": 30080},
                          {"name": "https", "port": 443, "targetPort": 8443, "nodePort": 30443}]}}


def bad(tree, obj=SVC):
    return [(lf.path, lf.expected, lf.observed) for lf in match(tree, obj) if not lf.ok]


def test_a_mapping_matches_the_keys_it_names_and_ignores_the_rest():
    assert bad({"spec": {"type": "NodePort"}}) == []


def test_a_literal_leaf_that_differs_names_path_expected_and_observed():
    assert bad({"spec": {"type": "ClusterIP"}}) == [("spec.type", "ClusterIP", "NodePort")]


def test_a_missing_key_is_observed_as_absent():
    assert bad({"spec": {"externalName": "x"}}) == [("spec.externalName", "x", ABSENT)]
    assert show(ABSENT) == "<absent>"


def test_literals_are_typed_80_is_not_the_string_80():
    assert bad({"spec": {"ports": [{"port": "80"}]}})[0][1:] == ("80", 80)


def test_list_elements_match_any_distinct_observed_element_in_any_order():
    assert bad({"spec": {"ports": [{"port": 443}, {"port": 80}]}}) == []
    assert len(bad({"spec": {"ports": [{"port": 80}, {"port": 80}]}})) == 1  # one port 80 cannot match twice


def test_comparisons():
    assert bad({"spec": {"ports": [{"nodePort": "(>= 30000)"}]}}) == []
    assert bad({"spec": {"ports": [{"nodePort": "(< 30000)"}, {"nodePort": "(< 30000)"}]}}) != []
    assert bad({"spec": {"clusterIP": "(!= 'None')"}}) == []
    assert bad({"spec": {"type": "(in [NodePort, LoadBalancer])"}}) == []
    assert bad({"spec": {"type": "(not in [NodePort])"}}) != []
    assert bad({"spec": {"type": "(>= 3)"}}) != []  # not a number: no ordering


def test_comparisons_compare_as_literals_do():
    """``True == 1`` in Python; in a tree a boolean is never a number and text never a number."""
    pod = {"spec": {"hostNetwork": True, "replicas": 1, "port": "80"}}
    assert bad({"spec": {"hostNetwork": "(== 1)"}}, pod) == [("spec.hostNetwork", "(== 1)", True)]
    assert bad({"spec": {"hostNetwork": "(in [1, 2])"}}, pod) == [("spec.hostNetwork", "(in [1, 2])", True)]
    assert bad({"spec": {"hostNetwork": "(!= 1)"}}, pod) == []
    assert bad({"spec": {"hostNetwork": "(== true)"}}, pod) == []
    assert bad({"spec": {"replicas": "(== 1.0)"}}, pod) == []  # numbers compare as numbers
    assert bad({"spec": {"replicas": "(in [true])"}}, pod) == [("spec.replicas", "(in [true])", 1)]
    assert bad({"spec": {"port": "(== 80)"}}, pod) == [("spec.port", "(== 80)", "80")]
    assert bad({"spec": {"missing": "(== null)"}}, pod) == []
    assert bad({"spec": {"missing": "(!= null)"}}, pod) == [("spec.missing", "(!= null)", ABSENT)]


def test_path_keys_and_jmespath_keys_and_leaves():
    assert bad({"spec.ports[0].nodePort": 30080}) == []
    assert bad({"(length(spec.ports))": 2}) == []
    assert bad({"spec": {"type": "(starts_with(@, 'Node'))"}}) == []
    assert bad({"spec.ports[5].port": 80}) == [("spec.ports[5].port", 80, ABSENT)]


def test_null_means_absent():
    assert bad({"spec": {"externalName": None}}) == []
    assert bad({"spec": {"type": None}}) != []


def test_a_mapping_where_a_scalar_is_observed_fails_once():
    assert len(bad({"spec": {"type": {"x": 1}}})) == 1


def test_every_leaf_is_counted_for_partial_credit():
    leaves = match({"spec": {"type": "ClusterIP", "ports": [{"port": 80, "targetPort": 80}]}}, SVC)
    assert (len(leaves), sum(lf.ok for lf in leaves)) == (3, 2)


def test_a_missing_subtree_counts_each_of_its_leaves_so_leaving_it_out_earns_no_more():
    tree = {"metadata": {"labels": {"app": "web"}}, "data": {"a": "1", "b": "2", "c": "3"}}
    wrong = match(tree, {"metadata": {"labels": {"app": "web"}}, "data": {"a": "x", "b": "x", "c": "x"}})
    missing = match(tree, {"metadata": {"labels": {"app": "web"}}})
    scalar = match(tree, {"metadata": {"labels": {"app": "web"}}, "data": "a=1"})
    for leaves in (wrong, missing, scalar):
        assert (len(leaves), sum(lf.ok for lf in leaves)) == (4, 1)
    assert [(lf.path, lf.observed) for lf in missing if not lf.ok] == [("data.a", ABSENT), ("data.b", ABSENT), ("data.c", ABSENT)]


def test_list_elements_with_nothing_to_match_count_each_leaf():
    tree = {"spec": {"ports": [{"port": 80, "targetPort": 80}]}}
    for ports in ([], None):
        obj = {"spec": {"ports": ports}} if ports is not None else {"spec": {}}
        assert [lf.path for lf in match(tree, obj)] == ["spec.ports[0].port", "spec.ports[0].targetPort"]


def test_an_empty_mapping_asks_for_a_mapping_and_null_leaves_hold_under_an_absent_parent():
    assert bad({"spec": {"selector": {}}}, {"spec": {}}) == [("spec.selector", "{...}", ABSENT)]
    assert bad({"status": {"loadBalancer": None}}, {"spec": {}}) == []


def test_a_bad_expression_is_the_rubrics_mistake():
    assert validate({"spec": {"type": "(starts_with(@,)"}}) != []
    assert validate({"(length(spec.ports)": 1}) != []
    assert validate({"spec": {"ports": [{"nodePort": "(>= 30000)"}]}}) == []
    with pytest.raises(BadAssertion):
        match({"spec": {"type": "(starts_with(@,)"}}, SVC)


def test_an_empty_tree_is_the_rubrics_mistake_but_an_empty_mapping_inside_asks_for_one():
    assert validate({}) == ["the tree is empty, so any object would match: name the fields it must have"]
    assert validate({"data": {}}) == []
    assert bad({"spec": {}}) == []
    assert bad({"status": {}}) == [("status", "{...}", ABSENT)]


def test_a_key_the_mapping_holds_as_written_is_that_key_not_a_path():
    cm = {"data": {"app.properties": "log.level=debug\n", "APP_MODE": "production"}}
    assert bad({"data": {"app.properties": "(contains(@, 'log.level=debug'))"}}, cm) == []
    assert bad({"data": {"app.properties": "x"}}, cm) == [("data.app.properties", "x", "log.level=debug\n")]
    assert bad({"data": {"nginx.conf": "x"}}, cm) == [("data.nginx.conf", "x", ABSENT)]  # missing: absent, as a path too


def test_label_and_annotation_keys_that_are_no_path_are_keys_not_a_rubric_mistake():
    pod = {"metadata": {"labels": {"app.kubernetes.io/name": "web"},
                        "annotations": {"deployment.kubernetes.io/revision": "3"}},
           "data": {".dockerconfigjson": "e30="}}
    tree = {"metadata": {"labels": {"app.kubernetes.io/name": "web"},
                         "annotations": {"deployment.kubernetes.io/revision": "3"}},
            "data": {".dockerconfigjson": "e30="}}
    assert validate(tree) == []
    assert bad(tree, pod) == []
    assert bad({"metadata": {"labels": {"app.kubernetes.io/part-of": "shop"}}}, pod) == [
        ("metadata.labels.app.kubernetes.io/part-of", "shop", ABSENT)]


def test_a_path_key_is_still_a_path_and_a_broken_one_still_the_rubrics_mistake():
    assert bad({"spec.type": "NodePort"}) == []
    assert bad({"spec.ports[1].port": 443}) == []
    assert validate({"spec.ports[0": 80}) != []


def test_an_expression_on_a_value_of_the_wrong_type_does_not_match_and_is_no_rubric_error():
    cm = {"data": {"n": 3}}
    # the leaf: a missing field and a number where text was meant
    assert bad({"data": {"app.properties": "(contains(@, 'debug'))"}}, cm) == [
        ("data.app.properties", "(contains(@, 'debug'))", ABSENT)]
    assert bad({"data": {"n": "(starts_with(@, 'x'))"}}, cm) == [("data.n", "(starts_with(@, 'x'))", 3)]
    # the key: length() of a list the student never wrote
    assert bad({"(length(spec.ports))": 1}, {"spec": {}}) == [("(length(spec.ports))", 1, ABSENT)]
    assert bad({"(length(spec.ports))": None}, {"spec": {}}) == []
    # an unknown function is still the rubric's mistake
    with pytest.raises(BadAssertion):
        match({"spec": {"type": "(no_such_fn(@))"}}, SVC)


POLICY = {"spec": {"ingress": [{"from": [{"namespaceSelector": {}}, {"podSelector": {"matchLabels": {"role": "client"}}}],
                                "ports": [{"port": 80, "protocol": "TCP"}]}]}}
ONLY_CLIENT = {"spec": {"ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}]}}


def test_a_list_only_has_to_contain_the_expected_elements_by_default():
    assert bad(ONLY_CLIENT, POLICY) == []


def test_with_exact_lists_an_extra_element_fails_as_a_length_leaf():
    leaves = match(ONLY_CLIENT, POLICY, exact_lists=True)
    assert [(lf.path, lf.expected, lf.observed) for lf in leaves if not lf.ok] == [
        ("length(spec.ingress[0].from)", 1, 2)]
    assert len(leaves) == 3  # the label, and one length leaf per list (ingress, from): partial credit counts them


def test_with_exact_lists_the_same_elements_in_another_order_match():
    role = {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "get"]}]}
    tree = {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}
    assert [lf for lf in match(tree, role, exact_lists=True) if not lf.ok] == []
    wider = {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]}]}
    assert [(lf.path, lf.observed) for lf in match(tree, wider, exact_lists=True) if not lf.ok] == [
        ("length(rules[0].verbs)", 3)]


def test_with_exact_lists_a_missing_list_is_absent_in_its_length_leaf_too():
    assert [(lf.path, lf.observed) for lf in match({"verbs": ["get"]}, {}, exact_lists=True) if not lf.ok] == [
        ("verbs[0]", ABSENT), ("length(verbs)", ABSENT)]


def test_in_a_list_holding_null_admits_an_absent_field_as_a_null_leaf_does():
    subject = {"kind": "ServiceAccount", "name": "pod-reader"}
    assert bad({"namespace": "(in [null, lab])"}, subject) == []
    assert bad({"namespace": "(in [lab])"}, subject) == [("namespace", "(in [lab])", ABSENT)]
    assert bad({"namespace": "(not in [null])"}, subject) == [("namespace", "(not in [null])", ABSENT)]
    assert bad({"namespace": "(in [null, lab])"}, {**subject, "namespace": "other"}) != []


def test_namespace_is_filled_in_keys_and_text_leaves_and_no_other_template_is():
    tree = {"subjects": [{"namespace": "(in [null, '{{ namespace }}'])", "name": "x-{{namespace}}"}],
            "metadata": {"labels": {"{{ namespace }}/team": "a"}}, "replicas": 2}
    assert fill_namespace(tree, "lab-42") == {
        "subjects": [{"namespace": "(in [null, 'lab-42'])", "name": "x-lab-42"}],
        "metadata": {"labels": {"lab-42/team": "a"}}, "replicas": 2}
    assert validate(tree) == []
    assert validate({"spec": {"clusterIP": "{{ cluster_ip(web) }}"}}) == [
        "spec.clusterIP: '{{ cluster_ip(web) }}' is not filled in here: an assertion tree knows only "
        "{{ namespace }} (the lab namespace)"]


# -- alternatives (object.matches any_of) ------------------------------------------

def test_closest_prefers_an_alternative_that_matches_whole():
    fit = closest([{"spec": {"type": "ClusterIP"}}, {"spec": {"type": "NodePort"}}], SVC)
    assert (fit.index, fit.ok) == (1, True)


def test_closest_is_the_largest_fraction_of_matching_leaves_then_the_first():
    trees = [{"spec": {"type": "ClusterIP", "clusterIP": "None"}},          # 0 of 2
             {"spec": {"type": "NodePort", "externalName": "x", "x": 1}},   # 1 of 3
             {"spec": {"type": "NodePort", "externalName": "x"}}]           # 1 of 2
    fit = closest(trees, SVC)
    assert fit.index == 2 and not fit.ok and [lf.path for lf in fit.leaves if not lf.ok] == ["spec.externalName"]
    assert closest([{"spec": {"x": 1}}, {"spec": {"y": 1}}], SVC).index == 0


def test_closest_of_no_alternative_is_the_rubrics_mistake():
    with pytest.raises(BadAssertion):
        closest([], SVC)
