/* Booking form: progressive enhancement. Shows when the booking ends as the start time and
   the duration change. Without this file the next step (the confirmation) shows it. */
(function () {
  "use strict";

  var start = document.getElementById("start");
  var duration = document.getElementById("duration");
  var line = document.getElementById("end-time");
  var output = document.getElementById("end-time-value");
  if (!start || !duration || !line || !output) { return; }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function update() {
    var parts = /^(\d{2}):(\d{2})$/.exec(start.value);
    var minutes = parseInt(duration.value, 10);
    if (!parts || isNaN(minutes)) { line.hidden = true; return; }
    var end = (parseInt(parts[1], 10) * 60 + parseInt(parts[2], 10) + minutes) % (24 * 60);
    output.value = two(Math.floor(end / 60)) + ":" + two(end % 60);
    line.hidden = false;
  }

  start.addEventListener("change", update);
  duration.addEventListener("change", update);
  update();
})();
