"""Custom-field column naming (duplicate names) and ADF to plain text."""

from __future__ import annotations

import random

from spark_jobs.jira.adf import adf_to_text
from spark_jobs.jira.fields import custom_field_columns
from spark_jobs.jira.flatten import custom_text

CATALOG = [
    {"id": "summary", "name": "Summary", "custom": False},
    {"id": "customfield_10101", "name": "Team", "custom": True},
    {"id": "customfield_10100", "name": "Team", "custom": True},
    {"id": "customfield_10016", "name": "Story point estimate", "custom": True},
    {"id": "customfield_10200", "name": "team", "custom": True},
    {"id": "customfield_10300", "name": "Réglé / Done?", "custom": True},
    {"id": "customfield_10400", "name": "!!!", "custom": True},
]


def test_duplicate_names_get_the_id_suffix_and_the_oldest_field_keeps_the_name():
    assert custom_field_columns(CATALOG) == {
        "customfield_10016": "cf_story_point_estimate",
        "customfield_10100": "cf_team",
        "customfield_10101": "cf_team_10101",
        "customfield_10200": "cf_team_10200",
        "customfield_10300": "cf_r_gl_done",
        "customfield_10400": "cf_10400",
    }


def test_names_do_not_depend_on_catalog_order_and_survive_new_duplicates():
    shuffled = CATALOG[:]
    random.Random(3).shuffle(shuffled)
    assert custom_field_columns(shuffled) == custom_field_columns(CATALOG)
    grown = custom_field_columns([*CATALOG, {"id": "customfield_10500", "name": "Team", "custom": True}])
    assert {k: grown[k] for k in custom_field_columns(CATALOG)} == custom_field_columns(CATALOG)
    assert grown["customfield_10500"] == "cf_team_10500"


def _p(*inline):
    return {"type": "paragraph", "content": list(inline)}


def _t(text, **marks):
    return {"type": "text", "text": text, **({"marks": [{"type": m} for m in marks]} if marks else {})}


def test_adf_to_text():
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 1}, "content": [_t("Title")]},
            _p(
                _t("Bold", strong=True),
                _t(" and "),
                {"type": "mention", "attrs": {"id": "x", "text": "@Ana"}},
                {"type": "hardBreak"},
                _t("next line"),
                {"type": "emoji", "attrs": {"shortName": ":tada:", "text": "🎉"}},
            ),  # fmt: skip
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            _p(_t("one")),
                            {
                                "type": "orderedList",
                                "attrs": {"order": 1},
                                "content": [{"type": "listItem", "content": [_p(_t("sub"))]}],
                            },
                        ],
                    },
                    {"type": "listItem", "content": [_p(_t("two"))]},
                ],
            },  # fmt: skip
            {"type": "codeBlock", "attrs": {"language": "sql"}, "content": [_t("SELECT 1")]},
            {"type": "rule"},
            {
                "type": "table",
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableHeader", "content": [_p(_t("k"))]},
                            {"type": "tableCell", "content": [_p(_t("v"))]},
                        ],
                    }
                ],
            },  # fmt: skip
            _p({"type": "inlineCard", "attrs": {"url": "https://example.com/x"}}),
            {"type": "panel", "content": [_p(_t("inside a new kind of node"))]},
        ],
    }
    assert adf_to_text(doc) == (
        "Title\nBold and @Ana\nnext line🎉\n- one\n  1. sub\n- two\nSELECT 1\n---\nk | v\n"
        "https://example.com/x\ninside a new kind of node"
    )
    assert adf_to_text(None) is None and adf_to_text("plain") == "plain"


def test_custom_values_as_text():
    assert custom_text({"value": "Payments", "id": "1"}) == "Payments"
    assert custom_text([{"name": "a"}, {"name": "b"}]) == "a, b"
    assert custom_text(13.0) == "13" and custom_text(2.5) == "2.5" and custom_text([]) is None
    assert custom_text({"accountId": "u1", "displayName": "Ana"}) == "Ana"
