/* commonfactors report: sortable and filterable tables, inlined into every page (no network, no library).
   A table with class "sortable" sorts by a column when its header's button is pressed (again: the other
   way); a cell's data-sort value, when present, is what it sorts by (numbers as numbers, empty last).
   A form with data-filter-for="ID" filters the rows of table ID: its search box keeps rows whose text
   contains every word typed, each select keeps rows whose data-NAME attribute equals its value (NAME:
   the select's name); the form's output says how many rows are shown. */
(function () {
  "use strict";
  function key(cell) {
    if (!cell) { return ""; }
    var v = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    var n = Number(v);
    return v !== "" && !isNaN(n) ? n : v.toLowerCase();
  }
  function compare(a, b) {
    if (a === b) { return 0; }
    if (a === "") { return 1; }
    if (b === "") { return -1; }
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    if (typeof a === "number") { return -1; }
    if (typeof b === "number") { return 1; }
    return a < b ? -1 : 1;
  }
  function sortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = th.querySelector("button.sort");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var body = table.tBodies[0];
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.forEach(function (r, i) { r.setAttribute("data-order", i); });
        rows.sort(function (a, b) {
          var c = compare(key(a.cells[col]), key(b.cells[col]));
          if (c === 0) { return a.getAttribute("data-order") - b.getAttribute("data-order"); }
          return up ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  function filterable(form) {
    var table = document.getElementById(form.getAttribute("data-filter-for"));
    if (!table) { return; }
    var search = form.querySelector("input[type=search]");
    var selects = form.querySelectorAll("select");
    var output = form.querySelector("output");
    function apply() {
      var words = search ? search.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
      var shown = 0, rows = table.tBodies[0].rows;
      Array.prototype.forEach.call(rows, function (r) {
        var text = r.textContent.toLowerCase();
        var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
        Array.prototype.forEach.call(selects, function (s) {
          if (s.value && r.getAttribute("data-" + s.name) !== s.value) { ok = false; }
        });
        r.hidden = !ok;
        shown += ok ? 1 : 0;
      });
      if (output) { output.textContent = shown + " of " + rows.length + " rows shown"; }
    }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    apply();
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), sortable);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-filter-for]"), filterable);
  });
}());
