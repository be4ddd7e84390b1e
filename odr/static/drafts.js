// Autosave of the lodging form: a few seconds after typing stops, and when the page is hidden or
// left, the form is posted to its draft address (odr/cases/drafts.py), which keeps it server side.
// The server answers with the line to show ("Draft saved at 14:32"), in the person's language.
// Without this script the form's "Save draft" button does the same.
(function () {
  "use strict";

  var form = document.querySelector("form[data-draft-url]");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var url = form.getAttribute("data-draft-url");
  var status = document.getElementById("draft-status");
  var QUIET_MS = 3000;
  var RETRY_MS = 15000;
  var timer = null;
  var changed = false;
  var stopped = false; // the session has ended: the server has kept the text, log in to go on
  var submitting = false;

  function say(text) {
    // Only a new line is announced (role=status), so a save in the same minute stays quiet.
    if (status && text && status.textContent !== text) {
      status.textContent = text;
    }
  }

  function schedule(delay) {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(save, delay);
  }

  function save() {
    timer = null;
    if (!changed || stopped || submitting) {
      return;
    }
    changed = false;
    fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (response.status === 401) {
          stopped = true;
        }
        return response.json().then(function (answer) {
          say(answer.message);
        });
      })
      .catch(function () {
        changed = true;
        say(status && status.getAttribute("data-failed"));
        schedule(RETRY_MS);
      });
  }

  function saveNow() {
    // The page is being hidden or left: a beacon outlives it.
    if (!changed || stopped || submitting) {
      return;
    }
    changed = false;
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    var data = new FormData(form);
    if (!(navigator.sendBeacon && navigator.sendBeacon(url, data))) {
      fetch(url, { method: "POST", body: data, credentials: "same-origin", keepalive: true });
    }
  }

  function typed() {
    changed = true;
    schedule(QUIET_MS);
  }

  form.addEventListener("input", typed);
  form.addEventListener("change", typed);
  form.addEventListener("submit", function () {
    // The form itself carries the text now; a late save must not bring back a lodged draft.
    submitting = true;
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      saveNow();
    }
  });
  window.addEventListener("pagehide", saveNow);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      submitting = false; // back from the history cache
    }
  });
})();
