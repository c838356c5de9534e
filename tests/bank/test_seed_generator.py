"""The mock bank's generator: customers.yaml is validated with file:line errors, and it gives customers.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seed_data.bank import generate as generate_script
from seed_data.bank.generator import customers as customers_module
from seed_data.bank.generator.assemble import dumps, generate
from seed_data.bank.generator.customers import SpecError, load_customers, parse_customers
from seed_data.bank.generator.verify import verify

BANK_DIR = Path(__file__).resolve().parents[2] / "seed_data" / "bank"

# A small valid file: a preset, a magic customer with an account, a card and a holding, an ordinary one.
VALID = """\
presets:
  young:
    salary: [6500, 16000]
    salary_day: 10
    quick: 20
    start: [2000, 15000]

customers:
  - id: C001
    name: 林思远
    gender: 男
    birth: 1996-04-17
    region: 440106
    segment: 青年
    risk_level: C3
    risk_assessed: 2026-02-20
    magic: cc_bill
    summary: {special: 本期账单, scenario: 信用卡账单查询}
    accounts:
      - kind: 借记卡
        opened: 2018-07-09
        profile:
          preset: young
          employer: 广州星海网络科技有限公司
          rent: 4200.00
          fixed:
            - at: 2026-11-26T03:12:00
              amount: -1980.00
              type: 扣费
              counterparty: 某某科技会员自动续费
              channel: 第三方支付
              memo: 免密支付协议扣款
    cards:
      - product: platinum
        limit: 60000
        statement_day: 25
        opened: 2021-03-15
        spend: [1500, 3000]
        pay: full
    holdings:
      - {product: WY030, amount: 50000.00, bought: 2026-09-10}

  - id: C002
    name: 周雅琴
    gender: 女
    birth: 1982-09-03
    region: 310104
    segment: 普通
    risk_level: C3
    risk_assessed: 2026-03-15
    accounts:
      - kind: 借记卡
        opened: 2009-05-21
        status: 久悬
        profile: {final: 86.37}
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of ``needle``."""
    return text[: text.index(needle)].count("\n") + 1


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_customers(text, "customers.yaml")
    return caught.value.problems


def test_the_shipped_file_gives_the_committed_customers_json_byte_for_byte():
    specs = load_customers()
    assert [s["id"] for s in specs] == [f"C{i:03d}" for i in range(1, 49)]
    text = dumps(generate(specs))
    committed = (BANK_DIR / "customers.json").read_bytes()
    assert text.encode("utf-8") == committed, "customers.yaml changed: run python seed_data/bank/generate.py"
    errors, totals = verify(json.loads(text))
    assert errors == []
    assert totals["customers"] == 48 and totals["accounts"] == 61 and totals["credit_cards"] == 32


def test_the_readme_table_comes_from_the_summaries():
    specs = load_customers()
    lines = generate_script.table(specs, json.loads(dumps(generate(specs))))
    assert len(lines) == 2 + 17
    assert lines[2].startswith("| C001 | 林思远 | 青年 | `cc_bill` | 白金卡本期账单8632.50元")
    readme = (BANK_DIR / "README.md").read_text(encoding="utf-8")
    assert "\n".join(lines) in readme


def test_a_small_valid_file_loads_and_builds():
    specs = parse_customers(VALID)
    c1, c2 = specs
    assert c1["home"] == "440106" and c1["summary"] == ("本期账单", "信用卡账单查询") and c2["magic"] is None
    profile = c1["accounts"][0]["profile"]
    assert profile["quick"] == 20 and str(profile["rent"]) == "4200.0" and profile["salary"][0] == 6500
    assert profile["fixed"][0]["type"] == "扣费" and str(profile["fixed"][0]["amount"]) == "-1980.00"
    data = json.loads(dumps(generate(specs)))
    first = data["customers"][0]
    assert first["accounts"][0]["balance"] and first["holdings"][0] == {
        "product_code": "WY030", "amount": "50000.00", "bought": "2026-09-10", "status": "持有中"}
    assert data["customers"][1]["accounts"][0] | {"number": ""} == {
        "number": "", "kind": "借记卡", "status": "久悬", "status_memo": None, "balance": "86.37", "currency": "CNY",
        "opened": "2009-05-21", "branch": "演练银行徐汇支行", "risk_events": [], "transactions": []}


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    # unknown keys, at every level
    ("    segment: 青年\n", "    segment: 青年\n    colour: red\n", "colour",
     "C001 colour: unknown key 'colour'"),
    ("          rent: 4200.00\n", "          rent: 4200.00\n          rant: 1\n", "rant",
     "C001 accounts[0].profile.rant: unknown key 'rant'"),
    ("        pay: full\n", "        pay: full\n        fee: 100\n", "fee:",
     "C001 cards[0].fee: unknown key 'fee'"),
    ("quick: 20\n", "quick: 20\n    fixed: []\n", "fixed: []", "presets.young.fixed: unknown key 'fixed'"),
    ("presets:", "colours: []\npresets:", "colours", "colours: unknown key 'colours'"),
    # missing required fields
    ("    gender: 女\n", "", "  - id: C002", "C002: missing required field 'gender'"),
    ("        limit: 60000\n", "", "      - product: platinum", "C001 cards[0]: missing required field 'limit'"),
    ("              memo: 免密支付协议扣款\n", "", "            - at:",
     "C001 accounts[0].profile.fixed[0]: missing required field 'memo'"),
    # bad dates and times
    ("birth: 1982-09-03", "birth: 1982-02-30", "birth: 1982-02-30",
     "C002 birth: bad date '1982-02-30': day is out of range for month"),
    ("opened: 2018-07-09", "opened: 2018/07/09", "opened: 2018/07", "C001 accounts[0].opened: bad date '2018/07/09'"),
    ("bought: 2026-09-10", "bought: 10.9.2026", "bought", "C001 holdings[0].bought: bad date '10.9.2026'"),
    ("at: 2026-11-26T03:12:00", "at: 2026-11-26T25:12:00", "at: 2026",
     "C001 accounts[0].profile.fixed[0].at: bad date and time '2026-11-26T25:12:00'"),
    # values outside their tables
    ("product: platinum", "product: diamond", "product: diamond", "C001 cards[0].product: unknown value 'diamond'"),
    ("product: WY030", "product: XX999", "product: XX999", "C001 holdings[0].product: unknown value 'XX999'"),
    ("kind: 借记卡\n        opened: 2018", "kind: 存折\n        opened: 2018", "kind: 存折",
     "C001 accounts[0].kind: unknown value '存折' (allowed: 借记卡, Ⅱ类账户)"),
    ("status: 久悬", "status: 睡眠", "status: 睡眠", "C002 accounts[0].status: unknown value '睡眠'"),
    ("        pay: full\n", "        pay: full\n        status: 停用\n", "status: 停用",
     "C001 cards[0].status: unknown value '停用'"),
    ("magic: cc_bill", "magic: cc_bil", "magic", "C001 magic: unknown value 'cc_bil'"),
    ("segment: 普通", "segment: 白领", "segment: 白领", "C002 segment: unknown value '白领'"),
    ("region: 310104", "region: 999999", "region: 999999", "C002 region: unknown region 999999"),
    ("type: 扣费", "type: 红包", "type: 红包", "C001 accounts[0].profile.fixed[0].type: unknown value '红包'"),
    ("channel: 第三方支付", "channel: 信鸽", "channel: 信鸽",
     "C001 accounts[0].profile.fixed[0].channel: unknown value '信鸽'"),
    ("preset: young", "preset: old", "preset: old", "C001 accounts[0].profile.preset: unknown preset 'old'"),
    # duplicate customer codes and keys
    ("  - id: C002", "  - id: C001", "  - id: C001\n    name: 周", "C001 id: duplicate customer id C001 (first at line 9)"),
    ("    name: 周雅琴\n", "    name: 周雅琴\n    name: 周雅\n", "    name: 周雅\n", "C002 name: duplicate key 'name'"),
    # amounts that are not numbers
    ("rent: 4200.00", "rent: 四千二", "rent:", "C001 accounts[0].profile.rent: not a number: text '四千二'"),
    ("rent: 4200.00", "rent: '4200.00'", "rent:",
     "C001 accounts[0].profile.rent: not a number: text '4200.00' (write it without quotes)"),
    ("limit: 60000", "limit: true", "limit:", "C001 cards[0].limit: not a number: True"),
    ("amount: 50000.00", "amount: [50000]", "{product", "C001 holdings[0].amount: not a number: a list"),
    ("salary: [6500, 16000]", "salary: [6500, lots]", "salary", "presets.young.salary[1]: not a number: text 'lots'"),
    ("amount: -1980.00", "amount: -1980.005", "amount: -1980",
     "C001 accounts[0].profile.fixed[0].amount: amount -1980.005 has more than two decimals"),
    ("amount: -1980.00", "amount: 1980.00", "amount: 1980",
     "C001 accounts[0].profile.fixed[0].amount: a 扣费 transaction must be below zero, not 1980.0"),
    # combinations the builder cannot honour
    ("    summary: {special: 本期账单, scenario: 信用卡账单查询}\n", "", "  - id: C001",
     "C001: a magic customer needs its README line"),
    ("profile: {final: 86.37}", "profile: {final: 86.37, quick: 3}", "profile: {final",
     "C002 accounts[0].profile: a 久悬 account has no transactions"),
    ("        pay: full\n", "        pay: full\n        status: 逾期\n", "      - product: platinum",
     "C001 cards[0]: a card is 逾期 exactly when it has an overdue bill"),
    ("          employer: 广州星海网络科技有限公司\n", "", "        profile:\n          preset",
     "C001 accounts[0].profile: salary needs an employer"),
    ("        pay: full\n",
     "        pay: full\n        instalments:\n          - {kind: 账单分期, total: 1000.01, paid_periods: 1, rate: 0.006}\n",
     "{kind: 账单分期", "C001 cards[0].instalments[0].total: total 1000.01 does not divide into 12 equal periods"),
    ("statement_day: 25", "statement_day: 31", "statement_day",
     "C001 cards[0].statement_day: must be a whole number from 1 to 28, not 31"),
])
def test_a_bad_file_is_refused_naming_file_line_customer_and_field(old, new, needle, message):
    assert old in VALID
    text = VALID.replace(old, new, 1)
    problems = problems_of(text)
    expected = f"customers.yaml:{line_of(text, needle)}: {message}"
    assert any(p.startswith(expected) for p in problems), (expected, problems)


def test_every_problem_is_reported_at_once_in_file_order():
    text = (VALID.replace("rent: 4200.00", "rent: abc").replace("birth: 1982-09-03", "birth: 1982-13-01")
            .replace("product: platinum", "product: diamond"))
    problems = problems_of(text)
    assert [p.split(":")[1] for p in problems] == [str(line_of(text, n)) for n in ("rent:", "diamond", "1982-13")]


def test_a_yaml_syntax_error_names_its_line():
    problems = problems_of(VALID.replace("    name: 周雅琴\n", "    name: [周雅琴\n"))
    assert len(problems) == 1 and problems[0].startswith("customers.yaml:") and ": YAML: " in problems[0]


def test_the_command_writes_nothing_when_the_file_is_bad(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "customers.yaml"
    bad.write_text(VALID.replace("rent: 4200.00", "rent: abc"), encoding="utf-8")
    output = tmp_path / "customers.json"
    monkeypatch.setattr(customers_module, "CUSTOMERS_FILE", bad)
    monkeypatch.setattr(generate_script, "OUTPUT", output)
    assert generate_script.main([]) == 2
    assert not output.exists()
    err = capsys.readouterr().err
    assert f"customers.yaml:{line_of(VALID, 'rent:')}: C001 accounts[0].profile.rent: not a number" in err

    bad.write_text(VALID, encoding="utf-8")
    assert generate_script.main([]) == 0
    assert json.loads(output.read_text(encoding="utf-8"))["customers"][0]["id"] == "C001"
