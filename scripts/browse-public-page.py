#!/usr/bin/env python3
"""Reads a ledger's public page in a real browser (Debian's chromium through chromium-driver and
Selenium), as a visitor would: the summary at desktop and phone width (screenshots), a
gigafactory's entries, one entry, and the receipt it links to, downloaded for `check-receipt`.

Usage: browse-public-page.py BASE_URL OUT_DIR
Writes OUT_DIR/desktop.png, OUT_DIR/phone.png, OUT_DIR/receipt.txt; prints one line per check and
exits 1 at the first that fails (2 when the browser cannot start).
"""
import os
import sys
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

DESKTOP = (1280, 1000)
PHONE = (390, 844)


def fail(message):
    print("FAIL " + message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print("ok   " + message)


def browser():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    try:
        return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    except Exception as error:  # the browser, not the page: a set-up problem
        print("cannot start chromium: %s" % error, file=sys.stderr)
        sys.exit(2)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    base, out = sys.argv[1].rstrip("/") + "/", sys.argv[2]
    os.makedirs(out, exist_ok=True)
    driver = browser()
    try:
        driver.set_window_size(*DESKTOP)
        driver.get(base + "index.html")
        html = driver.find_element(By.TAG_NAME, "html")
        check(html.get_attribute("lang") == "en", "the page names its language")
        check(len(driver.find_elements(By.TAG_NAME, "h1")) == 1, "one top-level heading")
        check(len(driver.find_elements(By.CSS_SELECTOR, "table caption")) >= 1, "tables have captions")
        check(len(driver.find_elements(By.CSS_SELECTOR, "th[scope]")) >= 1, "header cells have a scope")
        check(len(driver.find_elements(By.TAG_NAME, "script")) == 0, "no script is needed to read it")
        check("Latest checkpoint" in driver.page_source, "the latest checkpoint is shown")
        driver.save_screenshot(os.path.join(out, "desktop.png"))
        driver.set_window_size(*PHONE)
        driver.get(base + "index.html")
        overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        check(overflow <= 1, "nothing is wider than a phone's screen (tables scroll in their own box)")
        driver.save_screenshot(os.path.join(out, "phone.png"))
        driver.set_window_size(*DESKTOP)
        # A gigafactory's entries, then the newest of them, then its receipt.
        factory = driver.find_element(By.CSS_SELECTOR, "tbody th[scope=row] a")
        name = factory.text
        factory.click()
        check(("Entries of" in driver.find_element(By.TAG_NAME, "h1").text), "the link of %s leads to its entries" % name)
        entry = driver.find_element(By.CSS_SELECTOR, "tbody th[scope=row] a")
        label = entry.text
        entry.click()
        check(driver.find_element(By.TAG_NAME, "h1").text.startswith("Entry " + label.lstrip("#")), "entry %s opens" % label)
        receipt = driver.find_element(By.PARTIAL_LINK_TEXT, "Download the receipt")
        href = receipt.get_attribute("href")
        with urllib.request.urlopen(href, timeout=10) as answer:
            text = answer.read()
        check(text.startswith(b"gigaledger-receipt/v1\n"), "the receipt link gives a receipt")
        with open(os.path.join(out, "receipt.txt"), "wb") as file:
            file.write(text)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
