/** The oracle client's HTTP: GET as JSON with a timeout and a size limit, errors named. */
import { MAX_RESPONSE_BYTES } from './constants.ts';
import {
  MalformedOracleResponseError,
  OracleError,
  OracleEventNotFoundError,
  OracleHttpError,
  OracleUnreachableError,
} from './errors.ts';

/**
 * GET `base` + `path` as JSON. 404 → {@link OracleEventNotFoundError}; transport failure, a timeout
 * (`timeoutMs` unless `callerSignal` is given) or 5xx → {@link OracleUnreachableError}.
 */
export async function getJson(
  base: string,
  path: string,
  callerSignal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<unknown> {
  const url = `${base}${path}`;
  const signal = callerSignal ?? AbortSignal.timeout(timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { signal, headers: { accept: 'application/json' } });
    text = await readLimited(res, signal);
  } catch (err) {
    if (callerSignal?.aborted && callerSignal.reason?.name !== 'TimeoutError') throw err;
    if (err instanceof OracleError) throw err;
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new OracleUnreachableError(`cannot reach ${url}: ${why}`, { cause: err });
  }
  if (res.status === 404 && path !== '/') throw new OracleEventNotFoundError(path);
  if (res.status >= 500) {
    throw new OracleUnreachableError(`oracle answered HTTP ${res.status} for ${url}`);
  }
  if (res.status !== 200) throw new OracleHttpError(res.status, url);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MalformedOracleResponseError(`${url}: response is not JSON`);
  }
}

async function readLimited(res: Response, signal: AbortSignal): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel();
    throw new MalformedOracleResponseError(`response of ${declared} bytes is too large`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    signal.throwIfAborted();
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new MalformedOracleResponseError(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
