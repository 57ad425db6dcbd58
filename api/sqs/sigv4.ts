import crypto from 'node:crypto';
import { SqsError } from './errors';

/** What a signature is checked over: the request as it arrived, its body as bytes. */
export interface SignedRequest {
  method: string;
  /** The path as sent, without the query string. */
  path: string;
  /** The raw query string, without `?`; '' for none. */
  query: string;
  /** Lower-case names, as node gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256\s+Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** AWS accepts a request signed this far from its own clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

function header(request: Pick<SignedRequest, 'headers'>, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

const sha256Hex = (data: Buffer | string): string => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => crypto.createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding, as SigV4 wants it: encodeURIComponent leaves !'()* alone. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Each segment encoded again, as the signer does for every service but S3. */
function canonicalPath(path: string): string {
  return path
    .split('/')
    .map((segment) => rfc3986(decodeOrKeep(segment)))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .map((pair) => {
      const [name, value = ''] = pair.split(/=(.*)/s, 2);
      return [rfc3986(decodeOrKeep(name.replace(/\+/g, ' '))), rfc3986(decodeOrKeep(value.replace(/\+/g, ' ')))];
    })
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function parseAmzDate(text: string): number | null {
  const m = AMZ_DATE.exec(text);
  return m === null ? null : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

const mismatch = (): SqsError =>
  new SqsError(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
  );

/** The secret of an access key id, and whoever owns it. */
export interface Credentials<T> {
  secret: string;
  owner: T;
}

/** What a request claims about its signature, from its Authorization header or its query string. */
interface Claim {
  accessKeyId: string;
  /** `yyyymmdd`, the credential scope's date. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string;
  signature: string;
  /** The X-Amz-Date the signer used. */
  amzDate: string;
  /** The query string as it was signed (a query-string signature leaves out its own X-Amz-Signature). */
  signedQuery: string;
  /** A query-string signature's X-Amz-Expires, in seconds; null for a header signature. */
  expiresSeconds: number | null;
}

const CREDENTIAL = /^([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request$/;
/** SigV4's longest presigned validity: 7 days. */
const MAX_EXPIRES_SECONDS = 604_800;

function headerClaim(request: SignedRequest, authorization: string): Claim {
  const match = AUTHORIZATION.exec(authorization);
  if (match === null) throw new SqsError('MissingAuthenticationToken', 'The Authorization header is not an AWS4-HMAC-SHA256 signature.');
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match;
  return { accessKeyId, date, region, service, signedHeaders, signature, amzDate: header(request, 'x-amz-date'), signedQuery: request.query, expiresSeconds: null };
}

/** A presigned request: X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders and -Signature in the query string. */
function queryClaim(query: string): Claim | null {
  const pairs = query.split('&').filter((pair) => pair !== '');
  const named = (name: string): string | undefined => {
    const pair = pairs.find((p) => decodeOrKeep(p.split('=', 1)[0]) === name);
    return pair === undefined ? undefined : decodeOrKeep(pair.slice(pair.indexOf('=') + 1));
  };
  const signature = named('X-Amz-Signature');
  if (signature === undefined) return null;
  const credential = CREDENTIAL.exec(named('X-Amz-Credential') ?? '');
  const signedHeaders = named('X-Amz-SignedHeaders') ?? '';
  const expires = named('X-Amz-Expires') ?? '';
  if (named('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || credential === null || !/^[a-z0-9;-]+$/.test(signedHeaders) || !/^[0-9a-f]{64}$/.test(signature)) {
    throw new SqsError('MissingAuthenticationToken', 'The query string does not hold an AWS4-HMAC-SHA256 signature.');
  }
  const expiresSeconds = /^\d{1,6}$/.test(expires) ? Number(expires) : 0;
  if (expiresSeconds < 1 || expiresSeconds > MAX_EXPIRES_SECONDS) {
    throw new SqsError('MissingAuthenticationToken', `X-Amz-Expires must be a number of seconds from 1 to ${MAX_EXPIRES_SECONDS}.`);
  }
  const [, accessKeyId, date, region, service] = credential;
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders,
    signature,
    amzDate: named('X-Amz-Date') ?? '',
    signedQuery: pairs.filter((pair) => decodeOrKeep(pair.split('=', 1)[0]) !== 'X-Amz-Signature').join('&'),
    expiresSeconds,
  };
}

/** Whether a request signed at `signedAt` is still good at `now`: 15 minutes either way, or a presigned request's validity. */
function inTime(claim: Claim, signedAt: number, now: number): boolean {
  if (claim.expiresSeconds === null) return Math.abs(signedAt - now) <= MAX_SKEW_MS;
  return signedAt - now <= MAX_SKEW_MS && now <= signedAt + claim.expiresSeconds * 1000;
}

/**
 * Checks an AWS Signature Version 4 over the request — in its Authorization
 * header, as the SDKs send it, or in its query string, as a presigned URL
 * carries it — with the secret of its access key id, and returns the owner of
 * that key. Throws the SQS error a bad signature gets; `now` is the wall
 * clock, which the client signed with.
 */
export function verifySigV4<T>(request: SignedRequest, credentialsOf: (accessKeyId: string) => Credentials<T> | null, now: number): T {
  const authorization = header(request, 'authorization');
  const claim = authorization === '' ? queryClaim(request.query) : headerClaim(request, authorization);
  if (claim === null) throw new SqsError('MissingAuthenticationToken', 'Request is missing Authentication Token');
  const { date, region, service, signedHeaders, amzDate } = claim;
  const credentials = credentialsOf(claim.accessKeyId);
  if (credentials === null) throw new SqsError('InvalidClientTokenId', 'The security token included in the request is invalid.');
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === null || amzDate.slice(0, 8) !== date) throw mismatch();
  if (!inTime(claim, signedAt, now)) {
    throw new SqsError('SignatureDoesNotMatch', `Signature expired: ${amzDate} is more than 15 minutes from the server's time, or past its X-Amz-Expires.`);
  }
  const names = signedHeaders.split(';');
  // Host must be signed: otherwise a signed request could be replayed against another server.
  if (!names.includes('host') || names.some((name) => request.headers[name] === undefined)) throw mismatch();
  const bodyHash = sha256Hex(request.body);
  const claimedHash = header(request, 'x-amz-content-sha256');
  if (claimedHash !== '' && claimedHash !== bodyHash) throw mismatch();
  const canonicalHeaders = names.map((name) => `${name}:${header(request, name).trim().replace(/[ \t]+/g, ' ')}\n`).join('');
  const canonicalRequest = [
    request.method,
    canonicalPath(request.path),
    canonicalQuery(claim.signedQuery),
    canonicalHeaders,
    signedHeaders,
    claimedHash === '' ? bodyHash : claimedHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secret}`, date), region), service), 'aws4_request');
  const expected = Buffer.from(crypto.createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex'));
  if (!crypto.timingSafeEqual(expected, Buffer.from(claim.signature))) throw mismatch();
  return credentials.owner;
}
