"""Pages of the checkin area: QR images, the scan station, `/c/<token>`, and booking blocks.

Views are thin: the rules live in `checkin.services`; a view calls one service, commits once.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from makerspace import clock
from makerspace.auth import (
    known_person_or_404,
    managed_branch_or_404,
    manages_branch,
    staff_required,
)
from makerspace.booking.services import active_block, booking_visible_to
from makerspace.checkin import services
from makerspace.checkin.codes import token_from_scan, typed_code
from makerspace.checkin.forms import AnywayForm, ScanForm
from makerspace.checkin.qr_images import qr_image
from makerspace.core.forms import EmptyForm
from makerspace.core.transaction import attempt
from makerspace.events.services import signup_visible_to
from makerspace.i18n import local_time
from makerspace.loans.forms import ReturnForm

bp = Blueprint("checkin", __name__)
# Pages that show a QR code show the code to type beside it: `token | typed_code`.
bp.add_app_template_filter(typed_code, "typed_code")

def _private(response: Response) -> Response:
    """Pages with personal data: never stored by shared caches or listed by search engines."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# -- QR images ----------------------------------------------------------------------------

@bp.get("/bookings/<id:booking_id>/qr.png")
@login_required
def booking_qr_png(booking_id: int):  # type: ignore[no-untyped-def]
    return qr_image(booking_visible_to(booking_id, current_user).checkin_token, "png")


@bp.get("/bookings/<id:booking_id>/qr.svg")
@login_required
def booking_qr_svg(booking_id: int):  # type: ignore[no-untyped-def]
    return qr_image(booking_visible_to(booking_id, current_user).checkin_token, "svg")


@bp.get("/signups/<id:signup_id>/qr.png")
@login_required
def signup_qr_png(signup_id: int):  # type: ignore[no-untyped-def]
    return qr_image(signup_visible_to(signup_id, current_user).checkin_token, "png")


@bp.get("/signups/<id:signup_id>/qr.svg")
@login_required
def signup_qr_svg(signup_id: int):  # type: ignore[no-untyped-def]
    return qr_image(signup_visible_to(signup_id, current_user).checkin_token, "svg")


# -- the scan station ---------------------------------------------------------------------

@bp.route("/staff/<slug>/scan", methods=["GET", "POST"])
@staff_required
def scan(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    form = ScanForm()
    result = refusal = None
    if form.validate_on_submit():
        done = attempt(lambda: services.check_in(form.code.data, by=current_user,
                                                 branch=branch))
        result, refusal = done.value, done.refusal
        form = ScanForm(formdata=None)  # an empty input, focused, for the next scan
    return _scan_page(branch, form, result, refusal)


def _scan_page(branch, form, result, refusal, anyway_form=None,  # type: ignore[no-untyped-def]
               return_form=None):
    if isinstance(refusal, services.OutsideWindow) and refusal.subject is not None:
        anyway_form = anyway_form or AnywayForm(formdata=None, code=refusal.subject.token)
    if isinstance(result, services.LoanScan) and result.result == "return_ready":
        return_form = return_form or ReturnForm(formdata=None, code=result.loan.checkin_token)
    response = make_response(render_template(
        "checkin/scan.html", branch=branch, form=form, result=result, refusal=refusal,
        anyway_form=anyway_form, return_form=return_form),
        422 if refusal or form.errors else 200)
    return _private(response)


@bp.post("/staff/<slug>/scan/return")
@staff_required
def scan_return(slug: str):  # type: ignore[no-untyped-def]
    """A kit on loan comes back: its state and what staff noticed (after its code's scan)."""
    branch = managed_branch_or_404(slug)
    form = ReturnForm()
    if not form.validate_on_submit():
        scanned = services.LoanScan("return_ready", _loan_or_404(form.code.data, branch))
        return _scan_page(branch, ScanForm(formdata=None), scanned,
                          services.ReasonRequired(_("Please say what state the kit came "
                                                    "back in.")), return_form=form)
    done = attempt(lambda: services.return_scanned(
        form.code.data, by=current_user, branch=branch, condition=form.condition.data,
        note=form.note.data or ""))
    if done.refused and done.refusal.extra.get("field"):
        scanned = services.LoanScan("return_ready", _loan_or_404(form.code.data, branch))
        return _scan_page(branch, ScanForm(formdata=None), scanned, done.refusal,
                          return_form=form)
    return _scan_page(branch, ScanForm(formdata=None), done.value, done.refusal)


def _loan_or_404(code: str | None, branch):  # type: ignore[no-untyped-def]
    loan = services.find_loan(code or "")
    if loan is None or loan.equipment.branch_id != branch.id:
        abort(404)
    return loan


@bp.post("/staff/<slug>/scan/anyway")
@staff_required
def scan_anyway(slug: str):  # type: ignore[no-untyped-def]
    """"Check in anyway" after a too-early or too-late answer: with a reason, audited."""
    branch = managed_branch_or_404(slug)
    anyway = AnywayForm()
    result = refusal = None
    if anyway.validate_on_submit():
        done = attempt(lambda: services.check_in(anyway.code.data, by=current_user,
                                                 branch=branch, anyway=anyway.reason.data))
        result, refusal = done.value, done.refusal
        anyway = None
    else:
        found = services.find_scanned(anyway.code.data or "")
        refusal = services.ReasonRequired()
        if found is not None and manages_branch(current_user, found.branch):
            refusal = services.TooEarly(_("Please give a short reason."))
            refusal.subject = found
    return _scan_page(branch, ScanForm(formdata=None), result, refusal, anyway)


# -- /c/<token>: what a phone camera opens ------------------------------------------------

def _canonical(token: str) -> str:
    return token_from_scan(token) or token


# "/c/" is registered last so that url_for() builds the lower-case form.
@bp.get("/C/<token>")
@bp.get("/c/<token>")
def code(token: str):  # type: ignore[no-untyped-def]
    subject = services.find_scanned(token)
    if subject is None and current_user.is_authenticated:
        # A kit loan's code: its borrower and the library's staff see the loan (handing it
        # over and taking it back is the scan station's).
        loan = services.find_loan(token)
        if loan is not None and (loan.user_id == current_user.id
                                 or manages_branch(current_user, loan.equipment.branch)):
            return redirect(url_for("loans.show", loan_id=loan.id))
    view, context = "neutral", {}
    if subject is not None and current_user.is_authenticated:
        if manages_branch(current_user, subject.branch):
            view = "staff"
            context = {"form": EmptyForm(),
                       "window": subject.branch.checkin_window(subject.start)}
        elif subject.user.id == current_user.id:
            view = "owner"
            context = {"block": active_block(current_user, clock.now())}
    if view == "neutral":
        subject = None  # the same page whether or not the code exists
    return _private(make_response(render_template(
        f"checkin/code_{view}.html", subject=subject, token=_canonical(token), **context)))


@bp.post("/C/<token>")
@bp.post("/c/<token>")
@login_required
def code_check_in(token: str):  # type: ignore[no-untyped-def]
    if not current_user.is_staff:
        abort(404)
    target = url_for("checkin.code", token=_canonical(token))
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(target)
    done = attempt(lambda: services.check_in(token, by=current_user))
    if done.refused:
        flash(done.message, "error")
        return redirect(target)
    result = done.value
    if result.already:
        flash(_("Already checked in at %(time)s.", time=local_time(
            result.checked_in_at, result.subject.branch.timezone)), "warning")
    else:
        flash(_("Checked in: %(name)s, %(what)s.", name=result.subject.name,
                what=result.subject.what), "success")
    return redirect(target)


# -- blocks -------------------------------------------------------------------------------

@bp.get("/staff/people/<id:user_id>/blocks")
@staff_required
def blocks(user_id: int):  # type: ignore[no-untyped-def]
    person = known_person_or_404(user_id)
    now = clock.now()
    return _private(make_response(render_template(
        "checkin/blocks.html", person=person, blocks=services.blocks_of(person), now=now,
        no_shows=services.recent_no_shows(person, now), in_force=services.block_in_force,
        form=EmptyForm(), manages=lambda branch: manages_branch(current_user, branch))))


@bp.post("/staff/people/<id:user_id>/blocks/<id:block_id>/lift")
@staff_required
def lift(user_id: int, block_id: int):  # type: ignore[no-untyped-def]
    block = services.block_of(known_person_or_404(user_id), block_id)
    if EmptyForm().validate_on_submit():
        services.lift_block(block, by=current_user)
        flash(_("The block has been lifted."), "success")
    else:
        flash(_("The form had expired. Please try again."), "error")
    return redirect(url_for("checkin.blocks", user_id=user_id))
