import pytest

from scanner.selectors import SelectorError, parse_selector


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {}, True),
        (None, {"a": "x"}, True),
        ({"matchLabels": {"a": "x"}}, {"a": "x", "b": "y"}, True),
        ({"matchLabels": {"a": "x"}}, {"a": "y"}, False),
        ({"matchLabels": {"a": "x"}}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "y"]}]}, {"a": "y"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {"a": "x"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "x"}, False),
        # matchLabels and matchExpressions are ANDed
        ({"matchLabels": {"a": "x"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"a": "x"}, False),
        ({"matchLabels": {"a": "x"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]},
         {"a": "x", "b": "1"}, True),
    ],
)
def test_matching(selector, labels, expected):
    assert parse_selector(selector).matches(labels) is expected


@pytest.mark.parametrize(
    ("selector", "field"),
    [
        ({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]}, "matchExpressions[0].operator"),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "matchExpressions[0].values"),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, "matchExpressions[0].values"),
        ({"matchLabels": {"a": "bad value!"}}, "matchLabels.a"),
        ({"matchLabels": {"-bad": "x"}}, "matchLabels.-bad"),
        ({"matchLabels": {"a": 1}}, "matchLabels.a"),
        ({"matchLabel": {"a": "x"}}, "matchLabel"),
        ("app=x", ""),
    ],
)
def test_invalid_selectors_name_the_field(selector, field):
    with pytest.raises(SelectorError) as e:
        parse_selector(selector)
    assert e.value.field == field


def test_label_value_limits():
    assert parse_selector({"matchLabels": {"a": "x" * 63}}).matches({"a": "x" * 63})
    with pytest.raises(SelectorError):
        parse_selector({"matchLabels": {"a": "x" * 64}})
    assert parse_selector({"matchLabels": {"example.com/a": ""}}).describe() == "example.com/a="
