// Talking to the node: JSON in and out, the session cookie sent by the browser. Every failure
// becomes an ApiError carrying the server's own message, which the UI shows as is.

export class ApiError extends Error {
  readonly status: number;
  readonly name: string;
  constructor(status: number, name: string, message: string) {
    super(message);
    this.status = status;
    this.name = name;
  }
}

/** Fired when any request comes back 401: the session ended, show the login page. */
export const UNAUTHORIZED_EVENT = 'dlcfd:unauthorized';

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError(0, 'NetworkError', `the node does not answer: ${(err as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { name?: string; message?: string } } | undefined)?.error;
    if (res.status === 401 && path !== '/api/login') {
      window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    }
    throw new ApiError(
      res.status,
      e?.name ?? `HTTP${res.status}`,
      e?.message ?? `the node answered ${res.status} ${res.statusText}`,
    );
  }
  return json as T;
}

export const get = <T>(path: string): Promise<T> => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown): Promise<T> => api<T>('POST', path, body);
export const put = <T>(path: string, body?: unknown): Promise<T> => api<T>('PUT', path, body);

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
