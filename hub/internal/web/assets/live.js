// Live counters: elements with data-stats="<url>" are refreshed every 5 s
// from the dataset's stats.json. Without JavaScript the page shows the
// figures it was rendered with.
(function () {
  "use strict";
  var nodes = document.querySelectorAll("[data-stats]");
  if (!nodes.length || !window.fetch) { return; }
  function fmt(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009"); }
  function refresh() {
    nodes.forEach(function (el) {
      fetch(el.getAttribute("data-stats"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          var rec = el.querySelector("[data-field=records]");
          var rate = el.querySelector("[data-field=rate]");
          if (rec) { rec.textContent = fmt(s.records); }
          if (rate) { rate.textContent = s.per_minute < 0 ? "measuring…" : (Math.round(s.per_minute * 10) / 10) + " a minute"; }
        })
        .catch(function () {});
    });
  }
  refresh();
  setInterval(refresh, 5000);
})();
