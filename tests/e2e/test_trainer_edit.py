"""A trainer edits an article in the browser (with the live preview) and finds the edit in search."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_trainer_edits_an_article_and_sees_it_in_search(page, live_server, browser_login, runtime):
    from knowledge_base import articles

    with runtime.transaction() as s:
        target = next(a for a in articles.list_articles(s) if a.status == "已发布")
        external_id = target.external_id
    browser_login(page, "trainer")
    page.click("text=知识库管理")
    page.wait_for_url(re.compile(r".*/trainer/articles$"))
    page.fill('input[name="q"]', external_id)
    page.click('#article-filters button[type="submit"]')
    page.click(f'tr[data-id="{external_id}"] >> text=编辑')
    page.wait_for_url(re.compile(rf".*/trainer/articles/{re.escape(external_id)}/edit$"))

    expect(page.locator("#answer-preview")).not_to_be_empty()  # the preview of the stored answer
    page.fill("#title", "紫晶借记卡挂失流程（培训师修订）")
    page.fill("#answer", "第一步：**立即冻结**。\n\n<script>window.hacked = 1</script>\n\n第二步：补办新卡。")
    # The live preview shows the sanitised rendering: bold kept, the script gone.
    expect(page.locator("#answer-preview")).to_contain_text("补办新卡")
    expect(page.locator("#answer-preview strong")).to_have_text("立即冻结")
    assert page.locator("#answer-preview script").count() == 0
    assert page.evaluate("window.hacked") is None
    page.click("#save-btn")
    expect(page.locator(".flash-success")).to_contain_text("第 2 版" if target.version == 1 else "版")

    page.goto(f"{live_server}/kb/?q=紫晶借记卡挂失")
    hit = page.locator("#kb-results .kb-hit", has_text="紫晶借记卡挂失流程（培训师修订）")
    expect(hit).to_have_count(1)
    hit.locator("h2 a").click()
    page.wait_for_url(re.compile(rf".*/kb/articles/{re.escape(external_id)}.*"))
    expect(page.locator(".kb-body").first).to_contain_text("立即冻结")
