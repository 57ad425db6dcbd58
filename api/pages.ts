import fs from 'node:fs';
import path from 'node:path';
import { packagePath } from '../persistence/packagePath';
import { GatewayError } from '../queue/errors';
import type { Handler } from './handler';

interface File {
  body: Buffer;
  type: string;
}

/** A web page and the files it loads, read once at start and served from memory. */
export interface Page {
  html: File;
  assets: Map<string, File>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

function read(file: string): File {
  const type = TYPES[path.extname(file)];
  if (type === undefined) throw new Error(`no content type for ${file}`);
  return { body: fs.readFileSync(file), type };
}

/** A page from its HTML and its assets, each by the name it is asked for under the page's path. */
function page(html: string, assets: Record<string, string>): Page {
  return { html: read(html), assets: new Map(Object.entries(assets).map(([name, file]) => [name, read(file)])) };
}

/** The directory of an installed package: its files are served, never fetched from a CDN. */
function installed(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

// Each page is read once per process: its files do not change while it runs.
let docs: Page | undefined;
let dashboard: Page | undefined;

/** /docs: Swagger UI from the swagger-ui-dist package, rendering /openapi.yaml. */
export function docsPage(): Page {
  if (docs !== undefined) return docs;
  const ui = installed('swagger-ui-dist');
  docs = page(packagePath('api', 'pages', 'docs.html'), {
    'swagger-ui.css': path.join(ui, 'swagger-ui.css'),
    'swagger-ui-bundle.js': path.join(ui, 'swagger-ui-bundle.js'),
    'favicon-32x32.png': path.join(ui, 'favicon-32x32.png'),
    'docs.js': packagePath('api', 'pages', 'docs.js'),
  });
  return docs;
}

/** /ui: the dashboard, every file of api/pages/ui, and uPlot for its chart. */
export function dashboardPage(): Page {
  if (dashboard !== undefined) return dashboard;
  const dir = packagePath('api', 'pages', 'ui');
  const own = fs.readdirSync(dir).filter((name) => name !== 'index.html');
  const uplot = path.join(installed('uplot'), 'dist');
  dashboard = page(path.join(dir, 'index.html'), {
    ...Object.fromEntries(own.map((name) => [name, path.join(dir, name)])),
    'uPlot.iife.min.js': path.join(uplot, 'uPlot.iife.min.js'),
    'uPlot.min.css': path.join(uplot, 'uPlot.min.css'),
  });
  return dashboard;
}

/** operationIds getDocs / getDashboard: the page itself. */
export function servePage(served: Page): Handler {
  return (_req, res) => {
    res.set('Cache-Control', 'no-cache').type(served.html.type).send(served.html.body);
  };
}

/** operationIds getDocsAsset / getDashboardAsset: one of the page's files by name, 404 asset_not_found for others. */
export function serveAsset(served: Page): Handler {
  return (req, res) => {
    const name = req.params.asset as string;
    const file = served.assets.get(name);
    if (file === undefined) throw new GatewayError('asset_not_found', `There is no file '${name}' here.`);
    res.set('Cache-Control', 'no-cache').type(file.type).send(file.body);
  };
}
