// Check a document by its fingerprint: the browser takes the SHA-256 of the chosen PDF and sends
// only that, so the file never leaves the computer. Without this script, or without Web Crypto
// (pages not served over HTTPS), the form sends the file and the server hashes it instead; so
// does anything this script cannot handle (too large, not a PDF), for the server to explain.
(function () {
  "use strict";

  var MAX_SIZE = 10 * 1024 * 1024;
  var form = document.querySelector("form[data-verify-file]");
  if (!form || !window.crypto || !window.crypto.subtle || !window.Blob || !Blob.prototype.arrayBuffer) {
    return;
  }
  var input = form.querySelector('input[type="file"]');
  var fingerprint = form.querySelector('input[name="sha256"]');

  function hex(buffer) {
    return Array.prototype.map
      .call(new Uint8Array(buffer), function (byte) {
        return byte.toString(16).padStart(2, "0");
      })
      .join("");
  }

  function looksLikePdf(buffer) {
    // "%PDF-" within the first 1024 bytes, as the server checks.
    var head = new Uint8Array(buffer, 0, Math.min(1024, buffer.byteLength));
    var magic = [0x25, 0x50, 0x44, 0x46, 0x2d];
    for (var i = 0; i + magic.length <= head.length; i++) {
      var found = true;
      for (var j = 0; j < magic.length && found; j++) {
        found = head[i + j] === magic[j];
      }
      if (found) {
        return true;
      }
    }
    return false;
  }

  function sendFile() {
    fingerprint.value = "";
    input.disabled = false;
    form.submit();
  }

  form.addEventListener("submit", function (event) {
    var file = input.files && input.files[0];
    if (!file || file.size > MAX_SIZE) {
      return; // the browser or the server says what is wrong
    }
    event.preventDefault();
    file
      .arrayBuffer()
      .then(function (data) {
        if (!looksLikePdf(data)) {
          throw new Error("not a PDF");
        }
        return window.crypto.subtle.digest("SHA-256", data);
      })
      .then(function (digest) {
        fingerprint.value = hex(digest);
        input.disabled = true; // a disabled control is not sent: only the fingerprint is
        form.submit();
      })
      .catch(sendFile);
  });

  // Back to this page from the answer: the form works again as it did.
  window.addEventListener("pageshow", function () {
    fingerprint.value = "";
    input.disabled = false;
  });
})();
