(function () {
  "use strict";
  var bar = document.getElementById("filter");
  var sev = document.getElementById("filter-severity");
  var ns = document.getElementById("filter-namespace");
  var count = document.getElementById("filter-count");
  if (!bar || !sev || !ns) { return; }
  var rank = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
  function apply() {
    var limit = sev.value === "" ? 99 : rank[sev.value];
    var needle = ns.value.trim().toLowerCase();
    var active = limit !== 99 || needle !== "";
    var shown = 0;
    document.querySelectorAll("#findings section.rule, #findings-waived table").forEach(function (box) {
      var visibleInBox = 0;
      box.querySelectorAll("tr[data-sev]").forEach(function (tr) {
        var r = rank[tr.getAttribute("data-sev")];
        var okSev = (r === undefined ? 99 : r) <= limit;
        var okNs = needle === "" || (tr.getAttribute("data-ns") || "").toLowerCase().indexOf(needle) !== -1;
        tr.hidden = !(okSev && okNs);
        if (!tr.hidden) { visibleInBox += 1; }
      });
      box.querySelectorAll("tbody[data-ns]").forEach(function (tb) {
        tb.hidden = tb.querySelector("tr[data-sev]:not([hidden])") === null;
      });
      if (box.tagName === "SECTION") { box.hidden = active && visibleInBox === 0; }
      shown += visibleInBox;
    });
    count.textContent = active ? shown + " listed finding(s) match" : "";
  }
  sev.addEventListener("change", apply);
  ns.addEventListener("input", apply);
  bar.hidden = false;
}());
