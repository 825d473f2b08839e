// Settings pages: copying a shown-once secret, and the rule form's
// per-type JSON templates. Everything hangs off data- attributes (the
// Content-Security-Policy forbids inline scripts).
(function () {
  "use strict";

  // Copy buttons: data-copy names the input whose value to copy.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-copy]");
    if (!btn) { return; }
    var input = document.getElementById(btn.getAttribute("data-copy"));
    if (!input) { return; }
    var box = btn.closest("section") || document;
    var status = box.querySelector(".copy-status");
    var say = function (text) { if (status) { status.textContent = text; } };
    input.focus();
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () {
        say("Copied to the clipboard.");
      }, function () {
        say("Could not copy; the text is selected: press Ctrl+C (⌘C on a Mac).");
      });
    } else {
      say("The text is selected: press Ctrl+C (⌘C on a Mac) to copy it.");
    }
  });

  // Rule form: switching the type swaps in its template, unless the user
  // has edited the settings (then their text stays).
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("[data-rule-type]");
    var area = document.querySelector("[data-rule-config]");
    if (!select || !area) { return; }
    var templateOf = function (opt) { return opt ? opt.getAttribute("data-template") || "" : ""; };
    var current = templateOf(select.options[select.selectedIndex]);
    select.addEventListener("change", function () {
      var next = templateOf(select.options[select.selectedIndex]);
      var text = area.value.trim();
      if (text === "" || text === "{}" || text === current.trim()) {
        area.value = next;
      }
      current = next;
    });
  });
})();
