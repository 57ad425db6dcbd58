import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { packagePath } from '../persistence/packagePath';
import { killChildGateways, startChildGateway } from './support/childGateway';
import { tempDir } from './support/testGateway';

afterEach(killChildGateways);

/** Everything a process writes to standard error from now on, as JSON lines, once its standard error has ended (the process exited). */
function stderrLines(child: ChildProcess): Promise<Array<Record<string, unknown>>> {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    text += chunk;
  });
  return new Promise((resolve) => {
    child.stderr?.once('end', () =>
      resolve(
        text
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      ),
    );
  });
}

describe('the gateway process writes every line it logged before it exits', () => {
  test('a line per request answered, then the shutdown, after SIGTERM', async () => {
    const dataDir = tempDir();
    const gateway = await startChildGateway(dataDir);
    const lines = stderrLines(gateway.process);
    const produce = (i: number): Promise<Response> =>
      fetch(`${gateway.url}/v1/queues/q/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `produce-${i}` },
        body: JSON.stringify({ messages: [{ value: i }] }),
      });
    expect((await fetch(`${gateway.url}/v1/queues/q`, { method: 'PUT' })).status).toBe(201);
    for (let i = 0; i < 300; i += 50) {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, j) => produce(i + j)));
      for (const answer of answers) expect(answer.status).toBe(201);
    }
    gateway.process.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
    const logged = await lines;
    const produced = logged.filter((line) => line.operation === 'produceMessages').map((line) => line.requestId);
    expect(new Set(produced)).toEqual(new Set(Array.from({ length: 300 }, (_, i) => `produce-${i}`)));
    expect(produced).toHaveLength(300);
    const shutdown = logged.findIndex((line) => line.msg === 'SIGTERM: shutting down');
    const lastProduce = logged.map((line) => line.operation).lastIndexOf('produceMessages');
    expect(shutdown).toBeGreaterThan(lastProduce);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('with its standard error closed (its reader gone), it goes on answering, and stops with 0 on SIGTERM', async () => {
    const dataDir = tempDir();
    const gateway = await startChildGateway(dataDir);
    gateway.process.stderr?.destroy();
    for (let i = 0; i < 200; i += 1) {
      const answer = await fetch(`${gateway.url}/v1/queues/q${i % 3}`, { method: 'PUT' });
      expect(answer.status).toBeLessThan(300);
    }
    gateway.process.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a refused configuration, before the process exits with 2', async () => {
    const child = spawn(process.execPath, [packagePath('dist', 'api', 'main.js'), '--port', '70000'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const lines = stderrLines(child);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(await lines).toEqual([
      {
        level: 'error',
        time: expect.any(String),
        msg: "invalid configuration: --port must be a whole number from 0 to 65535; got '70000'.",
      },
    ]);
  });
});
