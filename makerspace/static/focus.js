/* After a refused form the page comes back with what went wrong at its top: an error summary
   or a refusal. Move the focus there, so that a screen reader reads it at once and the keyboard
   goes on from it (WCAG 3.3.1, 4.1.3). The element's `autofocus` does the same in current
   browsers; this covers those that ignore autofocus outside form controls. Without JavaScript
   the page works as before: the message is at the top, a live region, and in the title. */
(function () {
  "use strict";
  function focusProblem() {
    var target = document.querySelector(".error-summary[tabindex], .refusal[tabindex]");
    if (!target || target.contains(document.activeElement)) { return; }
    target.focus();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusProblem);
  } else {
    focusProblem();
  }
}());
