// Connect a pipeline: copy buttons. data-copy-from names the element
// whose text to copy (the Content-Security-Policy forbids inline scripts).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-copy-from]");
    if (!btn) { return; }
    var from = document.getElementById(btn.getAttribute("data-copy-from"));
    if (!from) { return; }
    var status = btn.parentNode.querySelector(".copy-status");
    var say = function (text) { if (status) { status.textContent = text; } };
    var text = from.value !== undefined ? from.value : from.textContent;
    // Select it too, for a manual copy when the clipboard is not offered.
    var range = document.createRange();
    range.selectNodeContents(from);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        say("Copied to the clipboard.");
      }, function () {
        say("Could not copy; the text is selected: press Ctrl+C (⌘C on a Mac).");
      });
    } else {
      say("The text is selected: press Ctrl+C (⌘C on a Mac) to copy it.");
    }
  });
})();
