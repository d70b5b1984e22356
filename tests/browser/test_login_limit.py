"""Issue 14, HIGH 2: the login form is rate limited too (the API login: tests/superset/test_logins.py)."""
from __future__ import annotations

import time
import uuid

from selenium.webdriver.common.by import By

from hc_superset.client import SupersetClient
from hc_superset.security import ROLE_MANAGER, SecurityReport
from tests.browser.dashboard_page import make_driver, wait_for
from tests.superset.harness import USER_PASSWORD, RunningSuperset


def _try_login(driver, base_url: str, username: str, password: str) -> str:
    driver.delete_all_cookies()
    driver.get(f"{base_url}/login/")
    wait_for(lambda: driver.find_elements(By.ID, "username"), 30, "the login form")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "[type=submit]").click()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = driver.find_element(By.TAG_NAME, "body").text
        if "Invalid username or password" in text or "Неверное имя" in text or "429" in text:
            return text
        time.sleep(0.3)
    return driver.find_element(By.TAG_NAME, "body").text


def test_sixth_wrong_password_in_the_form_gets_429(superset: RunningSuperset, security: SecurityReport) -> None:
    admin = SupersetClient(superset.url, superset.user, superset.password)
    username = f"formprobe_{uuid.uuid4().hex[:8]}"
    user_id = admin.post("/api/v1/security/users/", {
        "username": username, "first_name": "Проба", "last_name": "Формы", "email": f"{username}@happyclient.local",
        "active": True, "roles": [security.roles[ROLE_MANAGER]], "password": USER_PASSWORD,
    })["id"]
    driver = make_driver()
    try:
        answers = [_try_login(driver, superset.url, username, f"wrong-{n}") for n in range(6)]
        assert all("429" not in a for a in answers[:5]), answers
        assert "429 Too Many Requests" in answers[5], answers[5][:300]
        assert "429 Too Many Requests" in _try_login(driver, superset.url, username, USER_PASSWORD)
    finally:
        driver.quit()
        admin.delete(f"/api/v1/security/users/{user_id}")
