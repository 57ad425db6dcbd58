import { backoffDelay, MAX_RETRY_AFTER_MS, parseRetryAfter } from '../queue/push/backoff';
import { GatewayError } from '../queue/errors';
import { checkTarget } from '../queue/push/targets';

const backoff = { initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0.2 };

test('backoff grows by the multiplier up to maxMs, and jitter varies it by at most ±jitter', () => {
  const exact = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffDelay(backoff, attempt, () => 0.5));
  expect(exact).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
  expect(backoffDelay(backoff, 3, () => 0)).toBe(3200);
  expect(backoffDelay(backoff, 3, () => 0.999999)).toBe(4800);
  // Never past maxMs, however the jitter falls.
  expect(backoffDelay(backoff, 7, () => 0.999999)).toBe(60_000);
  expect(backoffDelay({ ...backoff, jitter: 0 }, 1000, () => 0.9)).toBe(60_000);
});

test('Retry-After is read as seconds or as an HTTP date, capped at an hour; anything else is ignored', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  expect(parseRetryAfter('7', now)).toBe(7000);
  expect(parseRetryAfter(' 0 ', now)).toBe(0);
  expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
  expect(parseRetryAfter('Wed, 25 Nov 2026 11:00:00 GMT', now)).toBe(0);
  expect(parseRetryAfter('999999', now)).toBe(MAX_RETRY_AFTER_MS);
  expect(parseRetryAfter(undefined, now)).toBeNull();
  expect(parseRetryAfter('soon', now)).toBeNull();
  expect(parseRetryAfter('-5', now)).toBeNull();
});

test('targets: http(s) only, no credentials or fragment; an allow-list matches hosts, ports and subdomains', () => {
  const any = { allowedHosts: null };
  expect(checkTarget('https://hooks.example.com/a?b=c', any).pathname).toBe('/a');
  for (const bad of ['ftp://example.com/', 'file:///etc/passwd', 'http://u:p@example.com/', 'http://example.com/#x', '/relative']) {
    expect(() => checkTarget(bad, any)).toThrow(expect.objectContaining({ code: 'validation_failed' }));
  }
  const policy = { allowedHosts: ['*.example.com', 'billing.internal', '10.0.0.5:8443', '[::1]:9000'] };
  const allowed = (url: string): boolean => {
    try {
      checkTarget(url, policy);
      return true;
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      expect(error).toMatchObject({ code: 'target_not_allowed' });
      return false;
    }
  };
  expect(allowed('https://hooks.example.com/x')).toBe(true);
  expect(allowed('https://a.b.example.com/x')).toBe(true);
  expect(allowed('https://example.com/x')).toBe(false);
  expect(allowed('https://evilexample.com/x')).toBe(false);
  expect(allowed('http://BILLING.internal:8080/soap')).toBe(true);
  expect(allowed('https://10.0.0.5:8443/')).toBe(true);
  expect(allowed('https://10.0.0.5/')).toBe(false);
  expect(allowed('http://[::1]:9000/')).toBe(true);
  expect(allowed('http://[::1]:9001/')).toBe(false);
  expect(allowed('http://169.254.169.254/latest/meta-data')).toBe(false);
});
