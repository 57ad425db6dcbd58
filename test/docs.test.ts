import fs from 'node:fs';
import { parseScope } from '../api/scopes';
import { packagePath } from '../persistence/packagePath';
import { expectText, launchChromium, startLiveGateway, stopLiveGateways, watchProblems } from './support/browser';
import { call } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';

// Chromium starts in a second or two.
jest.setTimeout(60_000);

let t: TestGateway;

beforeEach(() => {
  t = testGateway();
});
afterEach(() => disposeTestGateway(t));
afterEach(stopLiveGateways);

test('/docs is Swagger UI for /openapi.yaml, and every file the page loads is served from the gateway itself', async () => {
  const page = await call('getDocs', t.http.get('/docs'));
  expect(page.status).toBe(200);
  const loaded = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  expect(loaded.sort()).toEqual(['/docs/docs.js', '/docs/favicon-32x32.png', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']);
  for (const url of loaded) {
    const res = await call('getDocsAsset', t.http.get(url));
    expect({ url, status: res.status }).toEqual({ url, status: 200 });
  }
  const bundle = await t.http.get('/docs/swagger-ui-bundle.js');
  expect(bundle.headers['content-type']).toBe('text/javascript; charset=utf-8');
  expect(bundle.text).toContain('SwaggerUIBundle');
  expect((await t.http.get('/docs/swagger-ui.css')).headers['content-type']).toBe('text/css; charset=utf-8');
  // The page renders the spec this gateway serves.
  expect((await t.http.get('/docs/docs.js')).text).toContain("url: '/openapi.yaml'");
  expect((await call('getOpenApi', t.http.get('/openapi.yaml'))).text).toBe(fs.readFileSync(packagePath('openapi.yaml'), 'utf8'));
});

test('a file the pages do not have is 404 asset_not_found; a path outside them is refused', async () => {
  for (const path of ['/docs/index.html', '/docs/package.json', '/ui/secret.js']) {
    const res = await call(path.startsWith('/ui') ? 'getDashboardAsset' : 'getDocsAsset', t.http.get(path));
    expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 404, code: 'asset_not_found' });
  }
  for (const path of ['/docs/..%2Fopenapi.yaml', '/docs/.env', '/ui/%2e%2e%2fpackage.json']) {
    const res = await t.http.get(path);
    expect({ path, status: res.status }).toEqual({ path, status: 422 });
    expect(res.body.code).toBe('validation_failed');
  }
});

test('the pages need no key even when the gateway has keys: the page asks for one itself', async () => {
  await disposeTestGateway(t);
  t = testGateway({ keys: [{ id: 'a1b2c3d4e5f6', name: 'ops', hash: 'sha256:00', scopes: [parseScope('admin:*')], limits: {} }] });
  for (const path of ['/docs', '/docs/swagger-ui.css', '/ui', '/ui/uPlot.min.css']) {
    expect({ path, status: (await t.http.get(path)).status }).toEqual({ path, status: 200 });
  }
  expect((await t.http.get('/v1/queues')).status).toBe(401);
});

test('"Try it out" on /docs calls the gateway that served the page, and shows its answer', async () => {
  const { url } = await startLiveGateway();
  const put = await fetch(`${url}/v1/queues/orders`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(put.status).toBe(201);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    const problems = watchProblems(page, url);
    await page.goto(`${url}/docs`);
    const operation = page.locator('#operations-queues-listQueues');
    await operation.locator('.opblock-summary-control').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    // Wherever the page sends it: a spec whose server is some other address sends it there.
    const [request] = await Promise.all([
      page.waitForRequest((r) => new URL(r.url()).pathname === '/v1/queues'),
      operation.getByRole('button', { name: 'Execute' }).click(),
    ]);
    // Try it out fills in the parameters' defaults.
    expect(request.url()).toBe(`${url}/v1/queues?limit=100&sort=name`);
    const answer = operation.locator('.live-responses-table .response');
    await expectText(answer.locator('.response-col_status'), '200');
    await expectText(operation.locator(".request-url pre"), `${url}/v1/queues?limit=100&sort=name`);
    const listed = (await (await fetch(`${url}/v1/queues`)).json()) as { queues: { name: string }[] };
    expect(listed.queues.map((q) => q.name)).toEqual(['orders']);
    const shown: unknown = JSON.parse((await answer.locator('.highlight-code pre').textContent()) ?? '');
    expect(shown).toEqual(listed);
    expect(problems()).toEqual([]);
  } finally {
    await browser.close();
  }
});
