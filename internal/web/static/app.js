// shiplog console: the few behaviours htmx does not cover. No inline
// scripts (the Content-Security-Policy forbids them); everything hangs off
// data- attributes.
(function () {
  "use strict";

  // Live feed: server-sent events prepended to the home page's list. The
  // browser resends the last id on reconnect, so the server resumes the
  // stream where it broke off.
  function startFeed(list) {
    var url = list.getAttribute("data-live");
    var state = document.getElementById("live-state");
    var setState = function (s, text) {
      if (state) { state.setAttribute("data-state", s); state.textContent = text; }
    };
    var es = new EventSource(url);
    es.onopen = function () { setState("open", "live"); };
    es.onerror = function () { setState("retry", "reconnecting…"); };
    var show = function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      var type = ev.type === "message" ? (data.event_type || "event") : ev.type;
      var li = document.createElement("li");
      li.className = "fresh";
      var badge = document.createElement("span");
      badge.className = "badge " + (/failed|rejected/.test(type) ? "bad" : /completed|approved|succeeded/.test(type) ? "ok" : /started/.test(type) ? "run" : "idle");
      badge.textContent = type;
      li.appendChild(badge);
      var words = [data.product_name, data.version, data.environment ? "→ " + data.environment : (data.environment_name ? "→ " + data.environment_name : ""), data.dr_name]
        .filter(function (w) { return w; }).join(" ");
      li.appendChild(document.createTextNode(" " + words + " "));
      var when = document.createElement("span");
      when.className = "muted";
      when.textContent = "just now";
      li.appendChild(when);
      list.insertBefore(li, list.firstChild);
      while (list.children.length > 50) { list.removeChild(list.lastChild); }
      document.body.dispatchEvent(new CustomEvent("shiplog:event", { detail: { type: type } }));
    };
    es.onmessage = show;
    (list.getAttribute("data-types") || "").split(",").forEach(function (type) {
      if (type) { es.addEventListener(type, show); }
    });
    window.addEventListener("pagehide", function () { es.close(); });
  }

  // Confirm buttons: data-confirm="text" asks before a destructive submit.
  document.addEventListener("submit", function (e) {
    var btn = e.submitter;
    var msg = (btn && btn.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  }, true);

  // Tabs: role="tablist" with links; arrow keys move between them.
  document.addEventListener("keydown", function (e) {
    var tab = e.target.closest && e.target.closest('[role="tab"]');
    if (!tab || (e.key !== "ArrowRight" && e.key !== "ArrowLeft")) { return; }
    var tabs = Array.prototype.slice.call(tab.parentNode.parentNode.querySelectorAll('[role="tab"]'));
    var i = tabs.indexOf(tab) + (e.key === "ArrowRight" ? 1 : -1);
    if (i >= 0 && i < tabs.length) { tabs[i].focus(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.querySelector("[data-live]");
    if (list && window.EventSource) { startFeed(list); }
  });
})();
