"""A kit on loan in Chromium: a citizen borrows it through the form and gets the loan's QR
code; the librarian hands it over at the scan station and takes it back there, noting what
is missing. The pages on the way are checked with axe-core and HTML_CodeSniffer (WCAG 2.1
AA) at 1280 and 375 px. Elements are found by role, id and href, not by their words."""

from __future__ import annotations

from makerspace.extensions import db
from makerspace.loans.models import Loan, LoanStatus, ReturnCondition
from tests.browser.helpers import AxeReport, log_in, submit
from tests.browser.test_journeys import scan_like_a_desk_scanner


def test_a_kit_loan_is_picked_up_and_returned_at_the_scan_station(scene, new_page,
                                                                  make_equipment):
    kit = make_equipment(scene.hoved, name="VR-sett (Meta Quest 3)", kind="kit", quantity=2,
                         max_loan_days=7, description="To brillar, ladar og veske.")
    report = AxeReport()
    citizen, citizen_phone = new_page("desktop", axe=True), new_page("phone", axe=True)
    for page in (citizen, citizen_phone):
        log_in(page, "kari@example.no")
        page.goto(f"/equipment/{kit.id}")  # the machine page of a kit is the kit's page
        assert page.url.endswith(f"/kits/{kit.id}")
        assert page.locator("#loan-days tbody tr").count() >= 14
    report.scan("kit page", citizen, citizen_phone)
    report.reflow("kit page", citizen_phone)

    submit(citizen, lambda: citizen.locator("#loan-link").click())
    citizen_phone.goto(f"/kits/{kit.id}/loan")
    report.scan("loan form", citizen, citizen_phone)
    citizen.locator("#pickup_date").fill("2026-11-30")
    citizen.locator("#return_date").fill("2026-12-03")
    submit(citizen, lambda: citizen.locator("#loan-button").click())
    assert citizen.locator("#loan-status").get_attribute("data-status") == "reserved"
    loan_path = citizen.url.removeprefix(scene.app.config["BASE_URL"])
    citizen_phone.goto(loan_path)
    assert citizen.locator(f"img[src$='{loan_path}/qr.svg']").is_visible()
    report.scan("loan page with its QR code", citizen, citizen_phone)
    report.reflow("loan page", citizen_phone)
    citizen_phone.goto("/me/loans")
    assert citizen_phone.locator(f"a[href='{loan_path}']").is_visible()
    report.scan("my loans", citizen_phone)

    loan_id = int(loan_path.rsplit("/", 1)[1])
    with scene.app.app_context():
        token = db.session.get(Loan, loan_id).checkin_token
    base = scene.app.config["BASE_URL"]

    desk = new_page("desktop", axe=True)
    log_in(desk, "lena@example.no")
    desk.goto("/staff/hoved/loans")
    assert desk.locator(f"#pickups tr[data-loan='{loan_id}']").is_visible()
    report.scan("desk: kit loans", desk)
    desk.goto("/staff/hoved/scan")
    scan_like_a_desk_scanner(desk, f"{base}/c/{token}")
    assert desk.locator("#scan-result").get_attribute("data-result") == "picked_up"
    with scene.app.app_context():
        assert db.session.get(Loan, loan_id).status == LoanStatus.PICKED_UP

    scene.clock.set(scene.clock.now().replace(day=3))  # the return day
    scan_like_a_desk_scanner(desk, f"{base}/c/{token}")
    assert desk.locator("#scan-result").get_attribute("data-result") == "return_ready"
    report.scan("scan station: a kit coming back", desk)
    desk.locator("#condition-2").check()  # parts missing
    submit(desk, lambda: desk.locator("#return-button").click())  # without a note: refused
    assert desk.locator("#return-form").is_visible()
    desk.locator("#note").fill("Mangler ladekabelen")
    submit(desk, lambda: desk.locator("#return-button").click())
    assert desk.locator("#scan-result").get_attribute("data-result") == "returned"
    report.scan("scan station: kit returned", desk)
    with scene.app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert (loan.status, loan.condition, loan.return_note) == (
            LoanStatus.RETURNED, ReturnCondition.PARTS_MISSING, "Mangler ladekabelen")
    citizen.reload()
    assert citizen.locator("#loan-status").get_attribute("data-status") == "returned"
    report.check()
