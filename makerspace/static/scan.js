/* Scan station: progressive enhancement. The page works without this file: the desk scanner
   types into the focused input and presses Enter. This adds (1) a camera button where the
   browser has the BarcodeDetector API, and (2) keeps keystrokes from a scanner landing in the
   input even when the focus has wandered. */
(function () {
  "use strict";

  var form = document.getElementById("scan-form");
  if (!form) { return; }
  var input = form.querySelector("input[name='code']");
  var startButton = document.getElementById("camera-start");
  var stopButton = document.getElementById("camera-stop");
  var panel = document.getElementById("camera");
  var video = document.getElementById("camera-video");
  var status = document.getElementById("camera-status");
  var CAMERA_KEY = "folkeverksted.scan.camera";
  var stream = null;
  var detector = null;
  var timer = null;

  function focusInput() {
    if (input) { input.focus(); }
  }

  function send(text) {
    input.value = text;
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  // A scanner "types" fast; if the focus is elsewhere (a click on the result), move it back
  // to the input and keep the character.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!input || target === input || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && /^(INPUT|TEXTAREA|SELECT|BUTTON|A)$/.test(target.tagName)) { return; }
    if (event.key && event.key.length === 1) {
      event.preventDefault();
      input.focus();
      input.value += event.key;
    }
  });

  var result = document.getElementById("scan-result");
  if (result) { result.addEventListener("click", focusInput); }

  function stopCamera(remember) {
    if (timer) { window.clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    if (panel) { panel.hidden = true; }
    if (startButton) { startButton.hidden = false; }
    if (!remember) { window.sessionStorage.removeItem(CAMERA_KEY); }
    focusInput();
  }

  function detect() {
    if (!stream) { return; }
    detector.detect(video).then(function (codes) {
      if (codes.length && codes[0].rawValue) {
        stopCamera(true);
        send(codes[0].rawValue);
        return;
      }
      timer = window.setTimeout(detect, 200);
    }).catch(function () {
      timer = window.setTimeout(detect, 400);
    });
  }

  function startCamera() {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        panel.hidden = false;
        startButton.hidden = true;
        status.textContent = status.getAttribute("data-looking") || "";
        window.sessionStorage.setItem(CAMERA_KEY, "1");
        return video.play();
      })
      .then(detect)
      .catch(function () {
        stopCamera(false);
      });
  }

  if (!("BarcodeDetector" in window) || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia || !startButton) {
    return;
  }
  window.BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (formats.indexOf("qr_code") === -1) { return; }
    detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    startButton.hidden = false;
    startButton.addEventListener("click", startCamera);
    stopButton.addEventListener("click", function () { stopCamera(false); });
    // The camera was on before this answer: keep scanning the next person.
    if (window.sessionStorage.getItem(CAMERA_KEY) === "1") { startCamera(); }
  });
}());
