"""What an office and the supervisor see, in a real browser: headless Chromium (Debian's package)
driven by Selenium against ``nianbao serve`` on loopback. An office uploads its workbook and sees
its findings, explains a 提示; the supervisor logs in, finds the office and returns the report.
Screenshots of both pages are kept (NIANBAO_SCREENSHOTS names the folder, else the test's own)."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from nianbao.distribute import file_name
from nianbao.roster import Office
from nianbao.samples import realistic_values
from nianbao.spec import load_spec

from .serving import PASSWORD, distribute_round, free_port, serving
from .test_distribution import type_into

pytestmark = pytest.mark.slow
SPEC = load_spec("2021")
OFFICES = [("201", "北山县财政局"), ("202", "北山县审计局"), ("203", "北山县统计局")]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def require_browser() -> None:
    """Skip with the reason when Chromium or its driver is missing; fail when NIANBAO_REQUIRE_BROWSER=1 (CI)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        reason = f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("NIANBAO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and NIANBAO_REQUIRE_BROWSER=1 requires it")
        pytest.skip(reason)


@pytest.fixture
def browser():
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="nianbao-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000",
                 "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("NIANBAO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(max(height + 150, 800), 4000))
    path = folder / name
    driver.save_screenshot(str(path))
    return path


def submit(browser, wait, xpath: str) -> None:
    """Click a form's button and wait until the page it posts to has replaced this one.

    Selenium's click returns before the navigation; reading the old page's text
    meanwhile fails with a stale element, or passes on the old page's own words.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen

    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.XPATH, xpath).click()
    wait.until(seen.staleness_of(page))


def test_an_office_uploads_and_sees_its_findings_and_the_supervisor_returns_it(browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    links = distribute_round(tmp_path, OFFICES, port)
    code, name = OFFICES[0]
    values = {k: v for k, v in realistic_values(SPEC, random.Random(7), name, 2025).items() if k not in ("meta.office", "meta.year")}
    values["t3.new.natural"] += 1  # an 错误: 表三 does not add up
    values["meta.published"] = values["meta.published"].replace(month=3, day=1)  # a 提示: published late
    filled = type_into(tmp_path / "轮次" / "下发" / file_name(Office(name, code), 2025, macro=False), tmp_path / "填好的报告.xlsx", values)
    wait = WebDriverWait(browser, 60, ignored_exceptions=[StaleElementReferenceException])
    with serving(tmp_path / "轮次", port, tmp_path / "serve.log"):
        browser.get(links[name])
        assert name in browser.find_element(By.TAG_NAME, "header").text
        browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(filled))
        submit(browser, wait, "//button[text()='上传并检查']")
        table = wait.until(seen.presence_of_element_located((By.ID, "findings")))
        text = table.text
        assert "错误" in text and "提示" in text and "F101" in text, text
        assert "有错误" in browser.find_element(By.ID, "state").text
        box = browser.find_element(By.CSS_SELECTOR, "textarea[name^=explain-F101]")
        box.send_keys("本机关 3 月 1 日才收到布置通知")
        submit(browser, wait, "//button[text()='保存说明']")
        wait.until(lambda d: "已说明 1 项" in d.find_element(By.TAG_NAME, "main").text)
        office_png = screenshot(browser, "office-page.png", tmp_path)

        browser.get(f"http://127.0.0.1:{port}/admin")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        submit(browser, wait, "//button[text()='登录']")
        roster = wait.until(seen.presence_of_element_located((By.ID, "roster")))
        assert all(n in roster.text for _, n in OFFICES) and "未报送" in roster.text
        cookie = browser.get_cookie("nianbao_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        roster_png = screenshot(browser, "supervisor-roster.png", tmp_path)
        browser.find_element(By.LINK_TEXT, name).click()
        wait.until(seen.presence_of_element_located((By.ID, "findings")))
        browser.find_element(By.CSS_SELECTOR, "textarea[name=comment]").send_keys("表三不平衡，请核对后重报")
        submit(browser, wait, "//button[text()='退回修改']")
        wait.until(lambda d: "退回修改" in d.find_element(By.TAG_NAME, "main").text)
        office_admin_png = screenshot(browser, "supervisor-office.png", tmp_path)

        browser.get(links[name])
        assert "表三不平衡，请核对后重报" in browser.find_element(By.TAG_NAME, "main").text
    for png in (office_png, roster_png, office_admin_png):
        assert png.stat().st_size > 10_000
