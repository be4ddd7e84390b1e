// Forms, enhanced: the error summary takes the focus and its links take the person to the
// control; a time zone picker left at the server's default takes the browser's zone.
// Every page loads this file; without it the forms work the same, the summary has autofocus.
(function () {
  "use strict";

  var CONTROLS = "input:not([type=hidden]), select, textarea";

  function controlIn(target) {
    if (!target) return null;
    return target.matches(CONTROLS) ? target : target.querySelector(CONTROLS);
  }

  function focusControl(control) {
    // the label (or a fieldset's legend) scrolls into view with the control, not under the top edge
    var fieldset = control.closest("fieldset");
    var label = control.id && document.querySelector('label[for="' + CSS.escape(control.id) + '"]');
    var heading = (fieldset && fieldset.querySelector("legend")) || label || control;
    var visible = heading.getClientRects().length ? heading : control;
    control.focus({ preventScroll: true });
    visible.scrollIntoView({ block: "start" });
  }

  function enhanceSummary(summary) {
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) return;
      var control = controlIn(document.getElementById(decodeURIComponent(link.hash.slice(1))));
      if (!control) return;
      event.preventDefault();
      focusControl(control);
    });
    if (!summary.contains(document.activeElement)) summary.focus();
  }

  function focusErrors() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      enhanceSummary(summary);
      return;
    }
    // a refused action comes back as a message at the top of the page: it takes the focus
    var flash = document.querySelector("main .flash.error");
    if (flash) {
      flash.setAttribute("tabindex", "-1");
      flash.focus();
    }
  }

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function preselectZone(select) {
    var zone = browserZone();
    if (!zone) return;
    var match = Array.prototype.find.call(select.options, function (option) {
      var aliases = (option.getAttribute("data-aliases") || "").split(" ");
      return option.value === zone || aliases.indexOf(zone) !== -1;
    });
    if (match) select.value = match.value;
  }

  focusErrors();
  document.querySelectorAll("select[data-browser-zone]").forEach(preselectZone);
})();
