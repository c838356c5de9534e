"""Chinese names for the mock customers' ``magic`` codes (the scenario each one is built for).

Pages show the name; the code stays in the seed data, the CLI and a small grey ``<code>``
on the examiner's page. Every magic code in ``seed_data/bank/customers.json`` has a name here
(a test checks it).
"""

from __future__ import annotations

MAGIC_LABELS: dict[str, str] = {
    "cc_bill": "信用卡账单查询",
    "wealth": "理财产品咨询",
    "balance_drop": "余额莫名减少",
    "elderly_transfer": "老年客户转账",
    "angry_human": "情绪激动、坚持转人工",
    "lost_debit": "借记卡丢失",
    "complaint": "ATM 未出钞投诉",
    "fraud_target": "疑似电信诈骗",
    "corporate": "企业客户",
    "voice": "语音识别易出错",
    "suggestion": "建议反馈",
    "id_mismatch": "身份核验不通过",
    "frozen_account": "账户司法冻结",
    "overdue_card": "信用卡逾期",
    "lost_card_reported": "已挂失，咨询补卡",
    "dormant": "久悬账户激活",
    "risk_mismatch": "风险等级不匹配",
}


def magic_label(code: str | None) -> str:
    """The Chinese name of a magic code; ``""`` for an ordinary customer, the code itself if unknown."""
    if not code:
        return ""
    return MAGIC_LABELS.get(code, code)
