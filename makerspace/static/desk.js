/* The desk, progressively enhanced: the pages work without this file.
   (1) The day view refreshes its bookings and courses every minute without reloading the
   page (only while the tab is visible and nobody is typing in it). (2) Print buttons. */
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  var holder = document.getElementById("day-refresh");
  if (!holder || !window.fetch || !window.DOMParser) { return; }
  var url = holder.getAttribute("data-url");
  var every = parseInt(holder.getAttribute("data-every"), 10) * 1000 || 60000;

  function busy() {
    var active = document.activeElement;
    return active && holder.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)
      || holder.querySelector("details[open]") !== null;
  }

  function refresh() {
    if (document.hidden || busy()) { return; }
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html || busy()) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("day-live");
        var old = document.getElementById("day-live");
        if (!fresh || !old) { return; }
        var scroller = old.querySelector(".day-grid-scroll");
        var left = scroller ? scroller.scrollLeft : 0;
        old.replaceWith(fresh);
        var again = fresh.querySelector(".day-grid-scroll");
        if (again) { again.scrollLeft = left; }
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  window.setInterval(refresh, every);
})();
