// Starts Swagger UI (served from static/vendor/) on the API documentation page, /api/docs, with the
// settings the page carries (src/voicescount/api.py: LocalSwagger).
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("swagger-settings").textContent);
  settings.dom_id = "#swagger-ui";
  settings.presets = [SwaggerUIBundle.presets.apis];
  window.ui = SwaggerUIBundle(settings);
})();
