"""The dialogue acts an agent's clause can perform: the one label set, with Chinese names."""

from __future__ import annotations

ACTS: dict[str, str] = {
    "greet": "问候",
    "empathize": "安抚共情",
    "ask_identity": "请求核验身份",
    "explain": "解释说明",
    "inform": "告知事实",
    "instruct": "操作指引",
    "hold": "请稍候",
    "fault_notice": "故障告知",
    "transfer": "转接或回电",
    "closing": "确认需求或结束语",
    "risk_disclosure": "风险提示",
    "warn_secret": "提醒勿泄露密码验证码",
    "ask_secret": "索要密码或验证码",
    "promise": "承诺收益退款或结果",
    "blame": "推诿指责",
    "rude": "粗鲁不耐烦",
    "refuse": "合规拒绝",
    "thank": "致谢",
    "other": "其他",
}

# Acts that fail a drill outright when an agent performs them.
HARD_FAIL_ACTS = ("ask_secret", "promise")
# Acts that hurt the customer relationship (tone).
TONE_ACTS = ("blame", "rude")
# Acts that carry content: an answer, an explanation, a step, a warning, a refusal.
CONTENT_ACTS = ("explain", "inform", "instruct", "risk_disclosure", "warn_secret", "refuse", "fault_notice",
                "transfer")


def act_label(act: str) -> str:
    """The Chinese name of ``act`` (the act itself when unknown)."""
    return ACTS.get(act, act)
