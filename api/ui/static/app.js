/* rubricate QA dashboard: draws every <canvas data-chart="ID"> from the JSON in <script id="ID"> with Chart.js.
   Points with a link (spec.links[i]) open it when clicked. No inline scripts: the pages' CSP allows 'self' only. */
(function () {
  "use strict";
  var COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var datasets = spec.datasets.map(function (d, i) {
      var color = d.color || COLORS[i % COLORS.length];
      return Object.assign({ borderColor: color, backgroundColor: color + "99", spanGaps: true, tension: 0.2,
                             pointRadius: 3 }, d);
    });
    // offset: points sit in the middle of their week, not on the axes (a single week would hide on the y axis)
    var scales = { x: { offset: true }, y: { beginAtZero: true } };
    if (spec.yMax !== null && spec.yMax !== undefined) { scales.y.max = spec.yMax; }
    if (spec.percent) {
      scales.y.ticks = { callback: function (v) { return Math.round(v * 100) + " %"; } };
    }
    if (datasets.some(function (d) { return d.yAxisID === "y1"; })) {
      scales.y1 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } };
    }
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, scales: scales,
        plugins: { legend: { display: datasets.length > 1 } },
        onHover: function (event, elements) {
          event.native.target.style.cursor = elements.length && spec.links.length ? "pointer" : "default";
        },
        onClick: function (event, elements) {
          if (elements.length && spec.links[elements[0].index]) {
            window.location.href = spec.links[elements[0].index];
          }
        }
      }
    });
    canvas.setAttribute("data-drawn", "1");
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
