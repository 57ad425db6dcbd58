// Renders the gateway's own openapi.yaml; "Try it out" calls this same gateway.
window.ui = SwaggerUIBundle({
  url: '/openapi.yaml',
  dom_id: '#swagger-ui',
  deepLinking: true,
  tryItOutEnabled: false,
  persistAuthorization: true,
});
