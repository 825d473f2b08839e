// Settings pages: copying a shown-once secret, and the rule form's parts
// and per-type JSON templates. Everything hangs off data- attributes (the
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

  // Rule form: only the chosen type's fields, only the chosen editor, and
  // within a schedule only what its recurrence uses. Without scripts every
  // part shows and the server reads the parts the choices name.
  function showRuleParts(form) {
    var type = form.querySelector("[data-rule-type]").value;
    var editor = form.querySelector("[data-rule-editor]:checked");
    editor = editor ? editor.value : "form";
    var rec = form.querySelector("[data-recurrence]");
    form.querySelectorAll("[data-editor]").forEach(function (el) { el.hidden = el.getAttribute("data-editor") !== editor; });
    form.querySelectorAll("[data-rule-fields]").forEach(function (el) { el.hidden = el.getAttribute("data-rule-fields") !== type; });
    form.querySelectorAll("[data-when]").forEach(function (el) {
      el.hidden = !rec || el.getAttribute("data-when").split(" ").indexOf(rec.value) < 0;
    });
  }

  // formSettings is the JSON the form editor's fields stand for (the
  // server builds the same from a form post), so switching to the JSON
  // editor starts from what the form shows.
  function formSettings(form, type) {
    var val = function (name) { var el = form.elements[name]; return el ? el.value.trim() : ""; };
    var checked = function (name) {
      return Array.prototype.slice.call(form.querySelectorAll('input[name="' + name + '"]:checked')).map(function (el) { return el.value; });
    };
    var list = function (s) { return s.split(",").map(function (x) { return x.trim(); }).filter(function (x) { return x; }); };
    if (type === "schedule") {
      var rec = val("recurrence"), once = rec === "once";
      var sch = { recurrence: rec, time_zone: val("time_zone"), start: val(once ? "start_at" : "start_time"), end: val(once ? "end_at" : "end_time") };
      if (rec === "weekly") { sch.days = checked("days"); }
      if (rec === "monthly") { sch.month_days = list(val("month_days")).map(Number); }
      if (val("reason")) { sch.reason = val("reason"); }
      return { schedule: sch };
    }
    if (type === "flow") {
      var mult = { minutes: 1, hours: 60, days: 1440 }[val("soak_unit")] || 1;
      return { prerequisite_environments: list(val("prerequisite_environments")), target_environment: val("target_environment"),
        strict_order: form.elements.strict_order.checked, soak_minutes: (parseInt(val("soak"), 10) || 0) * mult };
    }
    if (type === "deployment_request_required") { return { required_approval_types: checked("dr_approval_types") }; }
    if (type === "version_approval_required") {
      var out = { required_approval_types: checked("va_approval_types") };
      if (val("after_environment")) { out.after_environment = val("after_environment"); }
      return out;
    }
    return {};
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("[data-rule-type]");
    var area = document.querySelector("[data-rule-config]");
    if (!select || !area) { return; }
    var form = select.form;
    showRuleParts(form);
    form.addEventListener("change", function (e) {
      if (e.target.hasAttribute("data-rule-editor") && e.target.value === "json") {
        area.value = JSON.stringify(formSettings(form, select.value), null, 2);
      }
      showRuleParts(form);
    });
    // Switching the type swaps in its JSON template, unless the user has
    // edited the settings (then their text stays).
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
