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

  // Times: the server writes UTC to the minute (readable without
  // scripts); here each <time datetime> says how long ago in words, with
  // the exact time in the viewer's own time zone on hover. On detail pages
  // (dl.meta, a timeline) the exact local time stays in the text.
  var exactFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
  });
  var shortFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  function ago(ms) {
    var s = Math.round(ms / 1000), future = s < 0, a = Math.abs(s), n, unit;
    if (a < 45) { return future ? "in a moment" : "just now"; }
    if (a < 3600) { n = Math.max(1, Math.round(a / 60)); unit = "min"; }
    else if (a < 86400) { n = Math.round(a / 3600); unit = "h"; }
    else if (a < 45 * 86400) { n = Math.round(a / 86400); unit = n === 1 ? "day" : "days"; }
    else { return null; }
    return future ? "in " + n + " " + unit : n + " " + unit + " ago";
  }
  function showTimes(root) {
    var now = Date.now();
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      var t = new Date(el.getAttribute("datetime"));
      if (isNaN(t.getTime())) { return; }
      var exact = exactFormat.format(t), rel = ago(now - t.getTime());
      el.title = exact;
      if (el.closest("dl.meta, .timeline")) {
        el.textContent = shortFormat.format(t) + (rel ? " (" + rel + ")" : "");
      } else {
        el.textContent = rel || shortFormat.format(t);
      }
      el.setAttribute("data-local", "1");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.querySelector("[data-live]");
    if (list && window.EventSource) { startFeed(list); }
    showTimes(document);
    window.setInterval(function () { showTimes(document); }, 30000);
  });
  document.addEventListener("htmx:afterSettle", function (e) { showTimes(e.target); });
})();
