"""The coordinators' board in a real browser: headless Chromium (Debian's), driven by
Playwright, presenting a party's client certificate. Playwright's `client_certificates` makes
the TLS connection to the board with the certificate (the browser talks to it through
Playwright's local proxy); NODE_EXTRA_CA_CERTS makes that connection check the board's
server certificate against the test CA.

Usage: board_browser.py CONFIG_JSON, with
  origin        https://127.0.0.1:PORT (the board)
  stomp         [host, port] (the broker's STOMP listener)
  ca            the CA file the board's certificate chains to
  parties       {party: [certificate, key]} for langxia-town (the coordinator at the board),
                jinshan-public-security (reports in over stomp.py), discipline-inspector
                (an auditor: the policy does not let it summon) and shanta-village-grid
  screenshots   a directory for the board's and the assessment's screenshots

What it does, as people would:
  1. a page without a client certificate does not load;
  2. Langxia town opens the board, blows the whistle from the form (summoning Jinshan public
     security and Guangchen town) and sees the summons id the broker assigned;
  3. Jinshan public security, an adapter on stomp.py, takes the copy from its inbox, acks it
     and reports in; the board shows "acknowledged" and "on time" without a reload;
  4. the auditor's attempt to blow the whistle shows the policy's refusal and its rule, and
     the auditors' page counts it;
  5. a hand-off dispatched from the board; one whose task the grid's admission list does not
     name is refused with that reason; the grid accepts the other on its own board;
  6. the assessment page draws its charts; screenshots of the board (Chinese) and the assessment.

Prints one JSON line per step; the last is {"step": "done", "failures": [...]}.
"""
import json
import os
import sys
import time

from interop_common import WAIT, connect, emit

config = json.loads(sys.argv[1])
os.environ["NODE_EXTRA_CA_CERTS"] = config["ca"]  # before Playwright's driver starts
from playwright.sync_api import Error as PlaywrightError, sync_playwright  # noqa: E402

ORIGIN = config["origin"]
CHROMIUM = next((path for path in [os.environ.get("MUSTER_CHROMIUM"), "/usr/lib/chromium/chromium", "/usr/bin/chromium"]
                 if path and os.path.exists(path)), None)
failures = []


def check(condition, failure):
    if not condition:
        failures.append(failure)
    return condition


def context_for(browser, party, language="en-GB"):
    certificate, key = config["parties"][party]
    return browser.new_context(locale=language, viewport={"width": 1280, "height": 900},
                               client_certificates=[{"origin": ORIGIN, "certPath": certificate, "keyPath": key}])


def report_in_over_stomp(summons_id):
    """Jinshan public security's adapter: inbox copy, ACK, report-in; returns the report-in's RECEIPT headers."""
    host, port = config["stomp"]
    certificate, key = config["parties"]["jinshan-public-security"]
    connection, frames = connect(host, port, config["ca"], certificate, key)
    try:
        inbox = "/queue/inbox.jinshan-public-security"
        connection.subscribe(destination=inbox, id="inbox", ack="client-individual")
        arrived = frames.wait(lambda: any(m.headers.get("muster-workflow-id") == summons_id for m in frames.messages), WAIT)
        if not check(arrived, "the summons %s did not arrive in %s: %s" % (summons_id, inbox, frames.diagnostics())):
            return None
        copy = next(m for m in frames.messages if m.headers.get("muster-workflow-id") == summons_id)
        connection.ack(copy.headers["ack"], receipt="ack")
        check(frames.wait(lambda: "ack" in frames.receipts, WAIT), "no RECEIPT for the ACK")
        report = {"summonsId": summons_id, "eta": "PT5M", "people": [{"name": "巡逻民警 张"}, {"name": "巡逻民警 李"}],
                  "note": "patrol car on the way"}
        connection.send(destination="/topic/report-in", body=json.dumps(report, ensure_ascii=False),
                        content_type="application/json;charset=utf-8", headers={"muster-type": "report-in", "receipt": "report-in"})
        check(frames.wait(lambda: "report-in" in frames.receipts or frames.errors, WAIT) and "report-in" in frames.receipts,
              "no RECEIPT for the report-in: %s" % frames.error_texts())
        receipt = frames.receipts.get("report-in")
        return dict(receipt.headers) if receipt else None
    finally:
        connection.disconnect()


def run(browser):
    # 1. Without a certificate the TLS handshake is refused: the page never loads.
    anonymous = browser.new_context(ignore_https_errors=True)
    try:
        response = anonymous.new_page().goto(ORIGIN + "/", timeout=15_000)
        check(False, "the board loaded without a client certificate (status %s)" % (response and response.status))
        emit(step="no-certificate", loaded=True)
    except PlaywrightError as error:
        emit(step="no-certificate", loaded=False, error=str(error).splitlines()[0])
    finally:
        anonymous.close()

    # 2. Langxia town blows the whistle from the form.
    coordinator = context_for(browser, "langxia-town")
    page = coordinator.new_page()
    response = page.goto(ORIGIN + "/?lang=en")
    if not check(response is not None and response.status == 200, "the board did not load: %s" % (response and response.status)):
        emit(step="open", body=page.content()[:2000])
        return
    emit(step="open", viewer=page.text_content("#viewer"), title=page.title())
    check(page.text_content("#viewer") == "廊下镇", "the board names %r, not Langxia town's own name" % page.text_content("#viewer"))
    page.fill("#whistle input[name=to]", "jinshan-public-security,guangchen-town")
    page.fill("#whistle input[name=title]", "Fallen tree on the levee road")
    page.fill("#whistle input[name=location]", "廊下镇 山塘村 levee road km 3")
    page.fill("#whistle input[name=deadline]", "30m")
    page.select_option("#whistle select[name=severity]", "high")
    with page.expect_navigation():
        page.click("#whistle button[type=submit]")
    notice = page.text_content("#notice") or ""
    summons_id = notice.split()[-1] if "summons s-" in notice else None
    emit(step="whistle", notice=notice, summons=summons_id)
    if not check(page.locator("#notice.done").count() == 1 and summons_id, "the whistle was not accepted: %r" % notice):
        return
    card = "#summons-%s" % summons_id
    row = card + ' tr[data-party="jinshan/jinshan-public-security"]'
    check(page.get_attribute(row, "data-status") == "waiting", "before the report-in the row is %r" % page.get_attribute(row, "data-status"))
    check(page.locator(card + " .countdown").count() == 1, "the open summons shows no countdown")
    # Live updates (event stream) are on before the department reports in.
    page.wait_for_selector("#live.up", timeout=WAIT * 1000)
    page.evaluate("window.notReloaded = true")

    # 3. The department reports in over STOMP; the board follows without a reload.
    receipt = report_in_over_stomp(summons_id)
    emit(step="report-in", receipt=receipt)
    try:
        page.wait_for_selector(row + '[data-status="on time"]', timeout=WAIT * 1000)
    except PlaywrightError:
        check(False, "the board did not show the report-in: %s" % page.inner_html(card))
    check(page.evaluate("window.notReloaded === true"), "the page was reloaded")
    cells = page.locator(row + " td").all_text_contents()
    updates = page.evaluate("document.body.dataset.updates")
    emit(step="live-update", row=cells, updates=updates)
    # Nothing changes now: the stream sends nothing (the countdown runs in the page).
    page.wait_for_timeout(3000)
    check(page.evaluate("document.body.dataset.updates") == updates,
          "the board was sent again though nothing changed: %s updates after %s" % (page.evaluate("document.body.dataset.updates"), updates))
    check(len(cells) >= 5 and cells[3] not in ("", "–"), "the acknowledgement time is missing: %s" % cells)
    check(len(cells) >= 5 and cells[4] not in ("", "–"), "the report-in time is missing: %s" % cells)
    check(page.text_content(card + " .tally").strip().endswith("1 / 2"), "the tally says %r" % page.text_content(card + " .tally"))

    # 5 (first half). The board in Chinese, for the README.
    page.goto(ORIGIN + "/?lang=zh")
    page.wait_for_selector("#live.up", timeout=WAIT * 1000)
    check(page.locator("html[lang=zh-CN]").count() == 1 and "吹哨" in page.content(), "the Chinese board has no Chinese labels")
    page.screenshot(path=os.path.join(config["screenshots"], "board-summons.png"), full_page=True)
    coordinator.close()

    # 4. The auditor may not blow the whistle: the form shows the policy's reason.
    auditor = context_for(browser, "discipline-inspector")
    page = auditor.new_page()
    page.goto(ORIGIN + "/?lang=en")
    page.fill("#whistle input[name=to]", "jinshan-public-security")
    page.fill("#whistle input[name=title]", "Not the auditor's to call")
    with page.expect_navigation() as navigation:
        page.click("#whistle button[type=submit]")
    refused = page.text_content("#notice.refused") if page.locator("#notice.refused").count() else ""
    emit(step="refused", status=navigation.value.status if navigation.value else None, notice=refused)
    check("not-authorized" in refused and "rule:" in refused, "the refusal does not give the policy's reason: %r" % refused)
    check(navigation.value is not None and navigation.value.status == 403, "the refused form answered %s" % (navigation.value and navigation.value.status))
    page.goto(ORIGIN + "/audit?lang=en")
    refusals = page.locator("#refusals tr").all_text_contents()
    emit(step="audit", refusals=refusals, head=page.text_content("#log-head"))
    check(any("not-authorized" in row for row in refusals), "the auditors' page lists no not-authorized refusal: %s" % refusals)
    auditor.close()

    # 5. A hand-off dispatched from the board, refused by the grid's admission list when the task is not on it,
    # and accepted by the grid on its own board.
    coordinator = context_for(browser, "langxia-town")
    page = coordinator.new_page()
    page.goto(ORIGIN + "/handoffs?lang=en")
    dispatched = {}
    for task in ["river-patrol", "tax-collection"]:
        page.fill("#dispatch input[name=to]", "shanta-village-grid")
        page.fill("#dispatch input[name=task]", task)
        page.fill("#dispatch input[name=title]", "Patrol the Shanta river bank" if task == "river-patrol" else "Collect the fees")
        page.fill("#dispatch input[name=due]", "2h")
        page.fill("#dispatch input[name=reference]", "12345-" + task)
        with page.expect_navigation() as navigation:
            page.click("#dispatch button[type=submit]")
        dispatched[task] = (navigation.value.status if navigation.value else None, page.text_content("#notice") or "")
    emit(step="dispatch", answers=dispatched)
    status, notice = dispatched["river-patrol"]
    handoff = notice.split()[-1] if "handoff h-" in notice else None
    check(status == 200 and handoff is not None, "the admitted hand-off was not dispatched: %s" % (dispatched,))
    status, notice = dispatched["tax-collection"]
    check(status == 403 and "not-admitted" in notice, "the task not on the admission list was not refused with its reason: %s" % (dispatched,))
    coordinator.close()
    if handoff:
        grid = context_for(browser, "shanta-village-grid")
        page = grid.new_page()
        page.goto(ORIGIN + "/handoffs?lang=en")
        card = "#handoff-" + handoff
        check(page.get_attribute(card, "data-state") == "dispatched", "the grid does not see %s dispatched" % handoff)
        with page.expect_navigation():
            page.click("#accept-%s button[type=submit]" % handoff)
        emit(step="accept", notice=page.text_content("#notice"), state=page.get_attribute(card, "data-state"))
        check(page.get_attribute(card, "data-state") == "accepted", "the grid's acceptance did not take: %s" % page.inner_html(card)[:1000])
        grid.close()

    # 6. The assessment, as the coordinator sees it.
    coordinator = context_for(browser, "langxia-town", language="zh-CN")
    page = coordinator.new_page()
    page.goto(ORIGIN + "/assessment")
    check(page.locator("#chart-on-time svg rect.bar.on-time").count() >= 1, "the assessment draws no on-time chart")
    rows = page.locator('table.assessment tr[data-party="jinshan-public-security"] td').all_text_contents()
    emit(step="assessment", row=rows)
    check(len(rows) > 5 and rows[1] == "1" and rows[2] == "1" and rows[5] == "100%", "the assessment row is %s" % rows)
    page.screenshot(path=os.path.join(config["screenshots"], "board-assessment.png"), full_page=True)
    coordinator.close()


def main():
    if not check(CHROMIUM is not None, "no Chromium: apt-get install chromium (or set MUSTER_CHROMIUM)"):
        return
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            run(browser)
        except Exception as error:  # a failure above; what happened is in the lines before
            failures.append("stopped: %s: %s" % (type(error).__name__, error))
        finally:
            browser.close()
    emit(step="done", failures=failures, seconds=round(time.monotonic() - started, 1))


main()
