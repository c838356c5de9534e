"""Tables outside the console at 1280×720: headers, buttons, badges and short values never break
one character per line (编/号, 接/入, 保/存), and no page scrolls sideways."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

WRAP_PROBLEMS = r"""
() => {
  const bad = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) bad.push("page scrolls sideways: " + doc.scrollWidth + " > " + doc.clientWidth);
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const t = walker.currentNode;
    const text = t.textContent.trim();
    const box = t.parentElement;
    if (text.length < 2 || text.length > 12 || !box || box.offsetParent === null) continue;
    if (getComputedStyle(box).display === "inline" || box.textContent.trim() !== text) continue;
    const range = document.createRange();
    range.selectNodeContents(t);
    const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top)));
    if (tops.size > 1 && tops.size >= text.replace(/\s/g, "").length) bad.push(text);
  }
  document.querySelectorAll("main td, main th").forEach((c) => {
    if (c.offsetParent === null || !c.textContent.trim()) return;
    const cs = getComputedStyle(c);
    const inner = c.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    if (inner < 2 * parseFloat(cs.fontSize) - 0.5) bad.push("narrow cell: " + c.textContent.trim().slice(0, 20));
  });
  return bad;
}
"""


def test_queue_synonym_and_work_order_tables_keep_short_words_whole(browser, browser_context_args, live_server,
                                                                    browser_login, api):
    cand = api("candidate")
    for _ in range(2):
        drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
        cid = drill["conversations"][0]["id"]
        long = "客户反映信用卡账单金额与自己记录的消费明细不一致，希望人工坐席逐笔核对并解释每一笔分期手续费的计算方式" * 2
        cand.post(f"/api/v1/conversations/{cid}/handoff", json={
            "queue": "信用卡中心", "summary": {"intent": "信用卡账单分期手续费争议", "request": long,
                                            "actions_taken": long, "verification_status": "已核验", "mood": "不满"}})
        cand.post("/api/v1/workorders", json={"title": long[:90], "type": "投诉", "category": "信用卡",
                                              "conversation_id": cid})
    pages = {"examiner": ["/handoffs", "/workorders", "/bank/customers"], "trainer": ["/trainer/synonyms"]}
    found = {}
    for role, urls in pages.items():
        context = browser.new_context(**{**browser_context_args, "viewport": {"width": 1280, "height": 720}})
        page = context.new_page()
        browser_login(page, role)
        for url in urls:
            page.goto(live_server + url)
            found[url] = page.evaluate(WRAP_PROBLEMS)
        context.close()
    assert not any(found.values()), found
