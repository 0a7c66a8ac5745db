#!/usr/bin/env python3
"""Reads a ledger's public page in a real browser (Debian's chromium through chromium-driver and
Selenium), as a visitor would: the summary at desktop and phone width (screenshots), checked with
axe-core (PyPI's axe-selenium-python) for accessibility, then a gigafactory's entries and the page
after it.

Usage: browse-public-page.py BASE_URL OUT_DIR
Writes OUT_DIR/desktop.png, OUT_DIR/phone.png, OUT_DIR/entries.png, OUT_DIR/axe.json (the
violations found on the summary and on a list page, by impact) and OUT_DIR/figures.json (what the
summary shows per gigafactory, for the caller to compare with a report); prints one line per
check and exits 1 at the first that fails (2 when the browser cannot start).
"""
import json
import os
import sys

from axe_selenium_python import Axe
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


def whole_page(driver, width, path):
    """A screenshot of the whole page at `width` (its height, up to 12,000 pixels)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, 600), 12000))
    driver.save_screenshot(path)


def accessibility(driver, what):
    """axe-core's violations on the page, as (id, impact, nodes); none serious or critical."""
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    version = driver.execute_script("return window.axe ? axe.version : null")
    found = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]), "help": v["help"]} for v in results["violations"]]
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    check(not bad, "%s: no serious or critical accessibility violation (axe-core %s)%s" % (
        what, version, "" if not bad else ": %s" % bad))
    return {"page": what, "axe_version": version, "violations": found,
            "passes": len(results["passes"])}


def figures(driver):
    """Per gigafactory: the shares and the verdict lines, as the page shows them."""
    out = {}
    for section in driver.find_elements(By.CSS_SELECTOR, "section.factory"):
        factory = section.find_element(By.CSS_SELECTOR, "h3 code").text
        shares = {}
        for term, value in zip(section.find_elements(By.CSS_SELECTOR, "dl.shares dt"), section.find_elements(By.CSS_SELECTOR, "dl.shares dd")):
            shares[term.text] = value.text
        money = {}
        for row in section.find_elements(By.CSS_SELECTOR, "tbody tr"):
            cells = [c.text for c in row.find_elements(By.CSS_SELECTOR, "th, td")]
            money[cells[0]] = cells[1:]
        verdicts = [li.find_element(By.TAG_NAME, "strong").text for li in section.find_elements(By.CSS_SELECTOR, "ul.verdicts li")]
        out[factory] = {"shares": shares, "money": money, "verdicts": verdicts}
    return out


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
        source = driver.page_source
        check("Latest checkpoint" in source, "the latest checkpoint is shown")
        check("Union share of registered CAPEX" in source and "Union share of payments" in source,
              "the Union's shares say what they measure")
        check("Check it yourself" in source and "prove --entry" in source, "how to check the page is said")
        for svg in driver.find_elements(By.CSS_SELECTOR, "figure svg"):
            check(svg.get_attribute("role") == "img" and svg.find_element(By.TAG_NAME, "title").get_attribute("textContent"),
                  "a chart has a text equivalent")
        report = [accessibility(driver, "summary")]
        whole_page(driver, DESKTOP[0], os.path.join(out, "desktop.png"))
        with open(os.path.join(out, "figures.json"), "w") as file:
            json.dump(figures(driver), file, indent=1, sort_keys=True)
        driver.set_window_size(*PHONE)
        driver.get(base + "index.html")
        overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        check(overflow <= 1, "nothing is wider than a phone's screen (tables scroll in their own box)")
        whole_page(driver, PHONE[0], os.path.join(out, "phone.png"))
        driver.set_window_size(*DESKTOP)
        # A gigafactory's entries, oldest first, then the page after the first.
        factory = driver.find_element(By.CSS_SELECTOR, "section.factory p a")
        factory.click()
        heading = driver.find_element(By.TAG_NAME, "h1").text
        check("Entries of gigafactory" in heading, "a gigafactory's link leads to its entries (%s)" % heading)
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody th[scope=row]")
        check(len(rows) >= 1, "its first page lists entries")
        numbers = [int(row.text.lstrip("#")) for row in rows]
        check(numbers == sorted(numbers), "oldest first")
        driver.save_screenshot(os.path.join(out, "entries.png"))
        report.append(accessibility(driver, "entries"))
        later = driver.find_elements(By.CSS_SELECTOR, "a[rel=next]")
        if later:
            later[0].click()
            following = [int(row.text.lstrip("#")) for row in driver.find_elements(By.CSS_SELECTOR, "tbody th[scope=row]")]
            check(not following or following[0] > numbers[-1], "the next page goes on where the first ends")
        with open(os.path.join(out, "axe.json"), "w") as file:
            json.dump(report, file, indent=1, sort_keys=True)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
