// Starts Swagger UI on /docs from the vendored bundle (static/vendor/swagger-ui), so the API
// docs work on a closed network; kept out of the page so no inline script is needed.
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    validatorUrl: null, // no badge fetched from validator.swagger.io
  });
});
