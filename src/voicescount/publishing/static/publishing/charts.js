// Render every Vega-Lite chart on the page from its JSON spec (<script id="ID-spec">), with local assets only.
// Charts swapped in by htmx (the disaggregation picker) are rendered when they arrive.
(function () {
  "use strict";
  function render(el) {
    var specNode = document.getElementById(el.id + "-spec");
    if (!specNode || typeof vegaEmbed !== "function") { return; }
    var spec = JSON.parse(specNode.textContent);
    vegaEmbed(el, spec, { actions: { export: true, source: false, compiled: false, editor: false }, renderer: "svg" })
      .catch(function (err) {
        el.textContent = el.getAttribute("data-error") || "The chart could not be drawn; the table below has the same data.";
        if (window.console) { console.error(err); }
      });
  }
  function renderWithin(root) { root.querySelectorAll(".vega-chart").forEach(render); }
  renderWithin(document);
  document.body.addEventListener("htmx:afterSettle", function (event) { renderWithin(event.target); });
})();
