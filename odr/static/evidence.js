// The evidence form, enhanced: one caption per chosen file instead of one for all of them, and
// the batch's count and total size checked before anything is sent. Without this script the
// form still works: the one caption goes with every file, and the server checks the rest.
(function () {
  "use strict";
  var form = document.querySelector("form.evidence-form");
  if (!form) {
    return;
  }
  var input = form.querySelector('input[type="file"]');
  var shared = form.querySelector("[data-shared-caption]");
  var sharedInput = shared.querySelector("input");
  var holder = form.querySelector("[data-file-captions]");
  var check = form.querySelector("#evidence-file-check");
  var describedBy = input.getAttribute("aria-describedby") || "";

  function problem() {
    var files = Array.prototype.slice.call(input.files || []);
    var total = files.reduce(function (sum, file) { return sum + file.size; }, 0);
    if (files.length > Number(form.dataset.maxFiles)) {
      return form.dataset.tooMany;
    }
    if (total > Number(form.dataset.maxBytes)) {
      return form.dataset.tooLarge;
    }
    return "";
  }

  function showProblem(message) {
    check.textContent = message;
    check.hidden = !message;
    if (message) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "evidence-file-check " + describedBy);
    } else {
      input.setAttribute("aria-describedby", describedBy);
    }
  }

  function captionFields() {
    var files = Array.prototype.slice.call(input.files || []);
    holder.replaceChildren();
    shared.hidden = files.length > 0;
    sharedInput.disabled = files.length > 0;
    if (!files.length) {
      return;
    }
    var fieldset = document.createElement("fieldset");
    fieldset.className = "file-captions";
    var legend = document.createElement("legend");
    legend.textContent = form.dataset.captionsLegend;
    fieldset.appendChild(legend);
    files.forEach(function (file, index) {
      var field = document.createElement("div");
      field.className = "field";
      var label = document.createElement("label");
      label.htmlFor = "evidence-caption-" + index;
      label.textContent = form.dataset.captionLabel.replace("%(name)s", file.name);
      var caption = document.createElement("input");
      caption.type = "text";
      caption.id = "evidence-caption-" + index;
      caption.name = "file_caption";
      caption.maxLength = 200;
      caption.value = sharedInput.value;
      field.appendChild(label);
      field.appendChild(caption);
      fieldset.appendChild(field);
    });
    holder.appendChild(fieldset);
  }

  input.addEventListener("change", function () {
    showProblem(problem());
    captionFields();
  });
  form.addEventListener("submit", function (event) {
    var message = problem();
    if (message) {
      event.preventDefault();
      showProblem(message);
      input.focus();
    }
  });
  if (input.files && input.files.length) {  // a file kept by the browser on going back
    captionFields();
  }
})();
