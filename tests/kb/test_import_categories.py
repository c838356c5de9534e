"""Another bank's knowledge base with its own categories: refused with a hint by default,
merged into the fixed categories on request (CLI and the trainer's import page), the original
category kept as a tag, nothing written when anything else is wrong."""

from __future__ import annotations

import io

import pytest

from knowledge_base import articles
from knowledge_base.categories import CATEGORIES, NO_CATEGORY, assign_categories, fixed_category
from tests.kb.helpers import jsonl, record


def _other_bank() -> str:
    rows = [record("OB-1", "信用卡分期怎么办理", category="信用卡业务"),
            record("OB-2", "ETC 怎么开通", category="ETC", tags=["车主"]),
            record("OB-3", "网银登录失败", category="网上银行"),
            record("OB-4", "没写分类的文章")]
    rows[3].pop("category")
    return jsonl(*rows)


def _stored(runtime) -> dict[str, dict]:
    with runtime.transaction() as s:
        return {r["id"]: r for r in articles.export_records(s)}


@pytest.mark.parametrize("name, expected", [
    ("信用卡", "信用卡"), ("信用卡业务", "信用卡"), ("个人贷款", "贷款"), ("网上银行", "手机银行"),
    ("手机银行app", "手机银行"), ("借记卡/储蓄卡", "借记卡"), ("定期存款", "存款"), ("开户与销户", "账户"),
    ("ETC", None), ("其他", None), ("", None), (None, None), (3, None),
    # A card centre's "挂失与安全" is about credit cards: no guess, the importer's default decides.
    ("挂失与安全", None), ("客户服务", "人工服务"), ("客服热线", "人工服务"),
])
def test_a_category_name_maps_to_the_fixed_category_it_plainly_means(name, expected):
    assert fixed_category(name) == expected


def test_assign_keeps_fixed_rows_and_leaves_non_objects_for_validation():
    rows = [(1, record("A", "a", category="理财")), (2, ["not", "an", "object"]),
            (3, record("B", "b", category="杂项", tags=["x"])), (4, {"id": "C", "title": "c"})]
    out, moves = assign_categories(rows, "网点服务")
    assert out[0] == rows[0] and out[1] == rows[1]
    assert out[2][1]["category"] == "网点服务" and out[2][1]["tags"] == ["x", "杂项"]
    assert out[3][1]["category"] == "网点服务" and "tags" not in out[3][1]
    assert moves == {"杂项": "网点服务", NO_CATEGORY: "网点服务"}
    assert rows[2][1]["category"] == "杂项"  # the input is not changed
    with pytest.raises(ValueError, match="归入的分类"):
        assign_categories(rows, "火星")


def test_cli_refuses_foreign_categories_with_a_hint_then_merges_them_on_request(runner, runtime, tmp_path):
    source = tmp_path / "other_bank.jsonl"
    source.write_text(_other_bank(), encoding="utf-8")
    before = _stored(runtime)

    refused = runner.invoke(args=["kb", "import", str(source)])
    assert refused.exit_code != 0
    assert "ETC" in refused.output and "--default-category" in refused.output
    assert _stored(runtime) == before  # all or nothing

    done = runner.invoke(args=["kb", "import", "--default-category", "网点服务", str(source)])
    assert done.exit_code == 0, done.output
    assert "分类归并" in done.output and "ETC → 网点服务" in done.output and "信用卡业务 → 信用卡" in done.output
    stored = _stored(runtime)
    assert stored["OB-1"]["category"] == "信用卡" and "信用卡业务" in stored["OB-1"]["tags"]
    assert stored["OB-2"]["category"] == "网点服务" and stored["OB-2"]["tags"] == ["车主", "ETC"]
    assert stored["OB-3"]["category"] == "手机银行"
    assert stored["OB-4"]["category"] == "网点服务" and stored["OB-4"]["tags"] == []
    assert set(stored) - set(before) == {"OB-1", "OB-2", "OB-3", "OB-4"}

    bad_choice = runner.invoke(args=["kb", "import", "--default-category", "火星", str(source)])
    assert bad_choice.exit_code != 0 and "火星" in bad_choice.output


@pytest.mark.db
def test_trainer_page_previews_the_merge_and_imports_it(login_as, runtime):
    trainer = login_as("trainer")
    before = _stored(runtime)
    form = {"file": (io.BytesIO(_other_bank().encode()), "other.jsonl"), "fmt": "", "unknown_category": "理财"}
    page = trainer.post("/trainer/import", data=form, content_type="multipart/form-data").get_data(as_text=True)
    assert 'id="category-moves"' in page and "<td>ETC</td><td>理财</td>" in page
    assert "confirm-import" in page and _stored(runtime) == before  # a dry run writes nothing
    token = page.split("/trainer/import/")[1].split("/confirm")[0]
    assert trainer.post(f"/trainer/import/{token}/confirm").status_code == 302
    stored = _stored(runtime)
    assert stored["OB-2"]["category"] == "理财" and stored["OB-1"]["category"] == "信用卡"

    # Without the choice the same file is refused row by row, and nothing is kept.
    form = {"file": (io.BytesIO(_other_bank().replace("OB-", "OC-").encode()), "other.jsonl"), "fmt": ""}
    page = trainer.post("/trainer/import", data=form, content_type="multipart/form-data").get_data(as_text=True)
    assert "confirm-import" not in page and "ETC" in page
    assert not any(key.startswith("OC-") for key in _stored(runtime))
    # A forged choice outside the list is a form error, not an import.
    form = {"file": (io.BytesIO(_other_bank().encode()), "x.jsonl"), "fmt": "", "unknown_category": "火星"}
    assert trainer.post("/trainer/import", data=form, content_type="multipart/form-data").status_code == 400


def test_every_fixed_category_is_its_own_mapping():
    assert all(fixed_category(c) == c for c in CATEGORIES)
