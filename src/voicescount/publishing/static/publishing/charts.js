// Render every Vega-Lite chart on the page from its JSON spec (<script id="ID-spec">), with local assets only.
// Charts swapped in by htmx (the disaggregation picker) are rendered when they arrive.
(function () {
  "use strict";
  function render(el) {
    var specNode = document.getElementById(el.id + "-spec");
    if (!specNode || typeof vegaEmbed !== "function") { return; }
    var spec = JSON.parse(specNode.textContent);
    // No action menu inside the role="img" figure (it would nest interactive content); the drawing itself is
    // hidden from assistive technology, which reads the figure's label and the data table instead.
    vegaEmbed(el, spec, { actions: false, renderer: "svg" })
      .then(function () {
        el.querySelectorAll("svg").forEach(function (svg) { svg.setAttribute("aria-hidden", "true"); svg.removeAttribute("role"); });
      })
      .catch(function (err) {
        el.textContent = el.getAttribute("data-error") || "The chart could not be drawn; the table below has the same data.";
        if (window.console) { console.error(err); }
      });
  }
  function renderWithin(root) { root.querySelectorAll(".vega-chart").forEach(render); }
  renderWithin(document);
  document.body.addEventListener("htmx:afterSettle", function (event) { renderWithin(event.target); });
})();
