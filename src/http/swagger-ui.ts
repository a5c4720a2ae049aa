/**
 * Swagger UI for /docs, served from the swagger-ui-dist package instead of a CDN, so the page works
 * where the service has no internet access. The files are imported `with { type: "file" }`: from
 * source that is their path in node_modules, in the single executable their embedded copy, which
 * Bun.file reads in place (no extraction).
 */
import bundleJs from "../../node_modules/swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import styleCss from "../../node_modules/swagger-ui-dist/swagger-ui.css" with { type: "file" };

export const SWAGGER_UI_ASSETS: Readonly<Record<string, { path: string; type: string }>> = {
  "swagger-ui-bundle.js": { path: bundleJs, type: "text/javascript; charset=utf-8" },
  "swagger-ui.css": { path: styleCss, type: "text/css; charset=utf-8" },
};

/**
 * The page. `validatorUrl: null`: Swagger UI otherwise sends the document to validator.swagger.io
 * for a badge; `tryItOutEnabled` opens /predict's form ready to run.
 */
export function swaggerPage(specUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>immich-ml API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: ${JSON.stringify(specUrl)}, dom_id: "#swagger-ui", validatorUrl: null, tryItOutEnabled: true, deepLinking: true });
</script>
</body>
</html>
`;
}

export function swaggerAsset(name: string): Response | undefined {
  const asset = SWAGGER_UI_ASSETS[name];
  return asset ? new Response(Bun.file(asset.path), { headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" } }) : undefined;
}
